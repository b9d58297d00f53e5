"""Policies choose the agent's next action: with a VLM, or offline."""

from app.policies.offline import OfflinePolicy
from app.policies.vlm import VLMPolicy

__all__ = ["OfflinePolicy", "VLMPolicy"]
