"""Thread ids: the root message id of each message's conversation.

``References`` lists a message's ancestors from the root down and
``In-Reply-To`` names its parent. Across one mailbox every such link is a
parent edge; a message's thread id is the id reached by following parents
until there are none, so a reply that only carries ``In-Reply-To`` still finds
the root of its parent's thread. Cycles (broken clients) stop the walk.
"""

from __future__ import annotations

from collections.abc import Sequence


def reference_chain(references: Sequence[str], in_reply_to: Sequence[str]) -> list[str]:
    """Ancestors from root to parent: References, then In-Reply-To if it is new."""
    chain = list(references)
    for mid in in_reply_to[:1]:
        if not chain or chain[-1] != mid:
            if mid in chain:
                chain.remove(mid)
            chain.append(mid)
    return chain


def single_thread_id(own_id: str, chain: Sequence[str]) -> str:
    """Without the rest of the mailbox: the first ancestor, or the message itself."""
    return chain[0] if chain else own_id


class ThreadIndex:
    """Parent links gathered from a whole mailbox; answers root lookups."""

    def __init__(self) -> None:
        self._parent: dict[str, str] = {}
        self._root: dict[str, str] = {}

    def add(self, own_id: str | None, chain: Sequence[str]) -> None:
        ids = [*chain, own_id] if own_id else list(chain)
        for parent, child in zip(ids, ids[1:], strict=False):
            if parent != child:
                self._parent.setdefault(child, parent)

    def root(self, mid: str) -> str:
        if mid in self._root:
            return self._root[mid]
        seen = {mid}
        path = [mid]
        cur = mid
        while cur in self._parent:
            nxt = self._parent[cur]
            if nxt in seen:
                break
            if nxt in self._root:
                cur = self._root[nxt]
                break
            seen.add(nxt)
            path.append(nxt)
            cur = nxt
        for m in path:
            self._root[m] = cur
        return cur

    def thread_id(self, own_id: str, chain: Sequence[str]) -> str:
        return self.root(chain[-1] if chain else own_id)
