"""The demo backend: tiny generated GGUF models served by a real llama.cpp server
(llama-cpp-python, the optional extra ``stellwerk[demo]``)."""
