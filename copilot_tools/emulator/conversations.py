"""Conversations in memory: created, counted, remembered for follow-ups, forgotten when old.

Handlers run on one event loop, but the in-process server and tests may touch the store
from other threads, so every change is one short critical section under a lock. The
store is bounded: beyond ``limit`` the oldest conversation is forgotten, and a turn on
it then gets the 404 an expired conversation gets from the service.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import datetime

from copilot_tools.emulator.draft import Reply
from copilot_tools.emulator.ids import IdSource, utc_now


@dataclass(frozen=True, slots=True)
class ConversationRecord:
    id: str
    created: datetime
    display_name: str = ""
    turn_count: int = 0
    last_reply: Reply | None = None


@dataclass(frozen=True, slots=True)
class Turn:
    """One answered turn: everything the ``/chat`` body or the stream's snapshots show."""

    conversation_id: str
    display_name: str
    turn_count: int
    prompt: str
    prompt_id: str
    asked: datetime
    reply: Reply
    reply_id: str
    replied: datetime


class ConversationStore:
    def __init__(self, ids: IdSource, limit: int = 10_000) -> None:
        self._ids = ids
        self._limit = limit
        self._records: OrderedDict[str, ConversationRecord] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._records)

    def create(self) -> ConversationRecord:
        record = ConversationRecord(self._ids.new(), utc_now())
        with self._lock:
            self._records[record.id] = record
            while len(self._records) > self._limit:
                self._records.popitem(last=False)
        return record

    def get(self, conversation_id: str) -> ConversationRecord | None:
        with self._lock:
            return self._records.get(conversation_id)

    def record_turn(self, conversation_id: str, prompt: str, reply: Reply, asked: datetime) -> Turn | None:
        """Count the turn (the first prompt names the conversation); None if it is gone."""
        with self._lock:
            record = self._records.get(conversation_id)
            if record is None:
                return None
            record = replace(
                record,
                display_name=record.display_name or prompt,
                turn_count=record.turn_count + 1,
                last_reply=reply,
            )
            self._records[conversation_id] = record
        return Turn(
            conversation_id=conversation_id,
            display_name=record.display_name,
            turn_count=record.turn_count,
            prompt=prompt,
            prompt_id=self._ids.new(),
            asked=asked,
            reply=reply,
            reply_id=self._ids.new(),
            replied=utc_now(),
        )
