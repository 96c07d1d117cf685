"""Configurator: from hardware and needs to a chosen model set, ``stellwerk.yaml`` and the
engine's commands (``stellwerk init``)."""

from stellwerk.configurator.discover import Discovery, discover
from stellwerk.configurator.needs import Needs
from stellwerk.configurator.select import Pick, Proposal, propose

__all__ = ["Discovery", "Needs", "Pick", "Proposal", "discover", "propose"]
