"""Who is asking: the authenticated key, its department, role, use case and default data class."""

from __future__ import annotations

from dataclasses import dataclass

from stellwerk.config.schema import Classification, Role


@dataclass(frozen=True, slots=True)
class Principal:
    department: str
    key_id: str
    role: Role = "user"
    use_case: str | None = None
    classification: Classification = "internal"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"
