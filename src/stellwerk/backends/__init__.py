"""Backends: one module per wire protocol, behind one small ABC."""
