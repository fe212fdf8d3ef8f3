"""The indexed object list answers every lookup as a scan of a plain list does, in the same order."""

from __future__ import annotations

import random

from argo_tutorial_suite.objects import Obj, Objects, find, of_kind, of_kind_in


def objects(rnd: random.Random, n: int) -> list[Obj]:
    out: list[Obj] = []
    for _ in range(n):
        meta: dict[str, object] = {"name": rnd.choice(["a", "b", "c"])}
        if rnd.random() < 0.8:
            meta["namespace"] = rnd.choice(["x", "y", ""])
        out.append({"kind": rnd.choice(["Service", "Ingress", "Issuer", ""]), "metadata": meta})
    return out


def test_lookups_agree_with_a_scan() -> None:
    rnd = random.Random(3)
    for _ in range(200):
        plain = objects(rnd, rnd.randint(0, 30))
        indexed = Objects(plain)
        for k in ("Service", "Ingress", "Issuer", "", "Nothing"):
            for n in ("a", "b", "c", "z"):
                for ns in (None, "x", "y", ""):
                    assert find(indexed, k, n, ns) is find(plain, k, n, ns)
            for ns in ("x", "y", ""):
                assert list(of_kind_in(indexed, ns, k, "Issuer")) == list(of_kind_in(plain, ns, k, "Issuer"))
            assert list(of_kind(indexed, k, "Ingress")) == list(of_kind(plain, k, "Ingress"))
