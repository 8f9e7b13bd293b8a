"""Every Redis key armswatch uses, built from one prefix (CONTRACT.md, "Redis keys")."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Keys:
    prefix: str = "armswatch:"

    @property
    def tagged(self) -> str:
        """Stream of every tagged story."""
        return f"{self.prefix}tagged"

    @property
    def dlq(self) -> str:
        """Stream of inputs that failed for good."""
        return f"{self.prefix}dlq"

    def alerts(self, subscription: str) -> str:
        """Stream of the stories matching one subscription."""
        return f"{self.prefix}alerts:{subscription}"

    def seen_story(self, story_id: str) -> str:
        """Marker that a story id was published to `tagged` (expires)."""
        return f"{self.prefix}seen:story:{story_id}"
