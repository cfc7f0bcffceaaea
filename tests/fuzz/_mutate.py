"""Seeded mutations of JSON files: byte-level, structure-level and DSSE-aware.

Every mutation is a pure function of ``random.Random(seed)``, so a failing case is reproduced
from its target name and case number alone (see ``mutate``).
"""

from __future__ import annotations

import base64
import json
import random

DEEP = "__llm360_fuzz_deep__"

#: values a hostile file puts where a field should be
VALUES: tuple = (
    None, True, False, 0, -1, 1, 2**63, -(2**63) - 1, 10**400, 0.5, -0.0, 1e308, "", "x",
    "0" * 64, "f" * 63, "A" * 5000, "\x1b[2K\x1b[1A", "\u202eevil", "\ud800", "../../etc/passwd",
    "/abs/path", "C:\\x", "ckpt_000", "https://model_signing/signature/v1.0", [], {}, [None],
    {"": None}, [[[[[[]]]]]], DEEP,
)
#: text that replaces a number or value in the serialised JSON
TOKENS = ("1e999", "-1e999", "NaN", "Infinity", "-Infinity", "1e-400", "01", "1.", ".5",
          "0x10", "true1", "\"\\ud800\"", "\"\\u0000\"", "[" * 3000 + "]" * 3000,
          "{\"a\":" * 2000 + "1" + "}" * 2000)


def _nodes(doc) -> list[tuple[object, object]]:
    """Every (container, key) position in ``doc``, found without recursion."""
    out, stack = [], [doc]
    while stack:
        node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in items:
            out.append((node, key))
            if isinstance(value, (dict, list)):
                stack.append(value)
    return out


def _tweak(rng: random.Random, value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + rng.choice((-1, 1, 2**32, -value - 1))
    if isinstance(value, float):
        return rng.choice((value * 2, -value, value + 1e-9, float(int(value))))
    if isinstance(value, str):
        if not value:
            return "a"
        i = rng.randrange(len(value))
        op = rng.randrange(4)
        if op == 0:
            return value[:i] + chr((ord(value[i]) + 1) % 0x110000 or 1) + value[i + 1:]
        if op == 1:
            return value[:i] + value[i + 1:]
        if op == 2:
            return value + value[i]
        return value.upper() if value != value.upper() else value.lower() + "x"
    if isinstance(value, list):
        if value and rng.random() < 0.5:
            return value + [value[rng.randrange(len(value))]]  # a duplicate entry
        return list(reversed(value)) if len(value) > 1 else value + [None]
    if isinstance(value, dict):
        return {**value, "extra": rng.choice(VALUES)}
    return rng.choice(VALUES)


def mutate_json(rng: random.Random, raw: bytes) -> tuple[bytes, str]:
    """Change one value, key or entry of the JSON document ``raw`` and serialise it again."""
    doc = json.loads(raw)
    nodes = _nodes(doc)
    container, key = nodes[rng.randrange(len(nodes))]
    op = rng.randrange(6)
    if op == 0:
        container[key] = rng.choice(VALUES)
        what = f"set {key!r} to a hostile value"
    elif op == 1:
        container[key] = _tweak(rng, container[key])
        what = f"tweaked {key!r}"
    elif op == 2:
        del container[key]
        what = f"deleted {key!r}"
    elif op == 3 and isinstance(container, dict):
        container[rng.choice(("extra", "__proto__", key + "_", ""))] = rng.choice(VALUES)
        what = "added a key"
    elif op == 4 and isinstance(container, dict) and len(container) > 1:
        other = rng.choice([k for k in container if k != key])
        container[key], container[other] = container[other], container[key]
        what = f"swapped {key!r} and {other!r}"
    else:
        container[key] = rng.choice(([container[key]], {"value": container[key]},
                                     str(container[key])))
        what = f"wrapped {key!r}"
    text = json.dumps(doc, sort_keys=rng.random() < 0.5, indent=rng.choice((None, 2)),
                      ensure_ascii=rng.random() < 0.5)
    if DEEP in text:
        depth = rng.choice((100, 5000, 100_000))
        text = text.replace(json.dumps(DEEP), "[" * depth + "]" * depth, 1)
        what += f" (nested {depth} deep)"
    return text.encode("utf-8", "surrogatepass"), what


def mutate_text(rng: random.Random, raw: bytes) -> tuple[bytes, str]:
    """Replace one number or literal of the serialised text with a hostile token, or put a
    duplicate key in front of the first object's keys."""
    text = raw.decode("utf-8")
    if rng.random() < 0.3 and text.lstrip().startswith("{"):
        doc = json.loads(text)
        if isinstance(doc, dict) and doc:
            key = rng.choice(sorted(doc))
            i = text.index("{") + 1
            dup = json.dumps(key) + ":" + json.dumps(rng.choice(VALUES[:-1])) + ","
            return (text[:i] + dup + text[i:]).encode("utf-8", "surrogatepass"), \
                f"duplicate key {key!r} first"
    spots = [i for i, c in enumerate(text) if c in "0123456789tfn" and text[i - 1] in ":[, "]
    if not spots:
        return mutate_bytes(rng, raw)
    i = rng.choice(spots)
    j = i
    while j < len(text) and text[j] not in ",]}\n ":
        j += 1
    token = rng.choice(TOKENS)
    return (text[:i] + token + text[j:]).encode("utf-8", "surrogatepass"), \
        f"replaced {text[i:j][:20]!r} with {token[:12]!r}"


def mutate_bytes(rng: random.Random, raw: bytes) -> tuple[bytes, str]:
    """Flip, set, insert, delete, duplicate or truncate bytes."""
    data = bytearray(raw)
    n = len(data)
    i = rng.randrange(n)
    op = rng.randrange(7)
    if op == 0:
        data[i] ^= 1 << rng.randrange(8)
        return bytes(data), f"flipped a bit of byte {i}"
    if op == 1:
        data[i] = rng.randrange(256)
        return bytes(data), f"set byte {i}"
    if op == 2:
        blob = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        return bytes(data[:i] + blob + data[i:]), f"inserted {len(blob)} bytes at {i}"
    if op == 3:
        j = min(n, i + rng.randint(1, 64))
        return bytes(data[:i] + data[j:]), f"deleted bytes {i}:{j}"
    if op == 4:
        j = min(n, i + rng.randint(1, 64))
        return bytes(data[:j] + data[i:j] + data[j:]), f"duplicated bytes {i}:{j}"
    if op == 5:
        return bytes(data[:i]), f"truncated to {i} bytes"
    return bytes(data) + rng.choice((b"\x00", b"}", b"\n{}", b"\xff\xfe")), "appended bytes"


def envelope(raw: bytes) -> tuple[str, bytes] | None:
    """(payloadType, payload) a bundle's envelope carries, read as the verifier reads it
    (strict base64), or None when it has none: what the signature covers."""
    try:
        env = json.loads(raw)["dsseEnvelope"]
        ptype = env["payloadType"]
        payload = base64.b64decode(env["payload"], validate=True)
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return None
    return (ptype, payload) if isinstance(ptype, str) else None


def mutate_envelope(rng: random.Random, raw: bytes, others: list[bytes]
                    ) -> tuple[bytes, str]:
    """DSSE-aware: change the signed statement (re-encoded), the signature, the payload type,
    the key hint, or swap in another validly signed envelope."""
    bundle = json.loads(raw)
    env = bundle["dsseEnvelope"]
    op = rng.randrange(6)
    if op == 0:
        statement, what = mutate_json(rng, base64.b64decode(env["payload"]))
        env["payload"] = base64.b64encode(statement).decode("ascii")
        what = "statement: " + what
    elif op == 1:
        sig = bytearray(base64.b64decode(env["signatures"][0]["sig"]))
        sig[rng.randrange(len(sig))] ^= 1 << rng.randrange(8)
        env["signatures"][0]["sig"] = base64.b64encode(bytes(sig)).decode("ascii")
        what = "flipped a signature bit"
    elif op == 2:
        env["payloadType"] = rng.choice(("application/json", "", "application/vnd.in-toto+jsonx",
                                         None, 1, ["application/vnd.in-toto+json"]))
        what = "payload type"
    elif op == 3:
        other = json.loads(rng.choice(others))
        bundle["dsseEnvelope"] = other["dsseEnvelope"]
        what = "another file's validly signed envelope"
    elif op == 4:
        other = json.loads(rng.choice(others))["dsseEnvelope"]
        env["signatures"] = rng.choice((other["signatures"], [], [{}],
                                        env["signatures"] + other["signatures"]))
        what = "other signatures"
    else:
        bundle["verificationMaterial"]["publicKey"] = rng.choice(
            ({"hint": "0" * 64}, {}, "publickey", None, {"hint": 5}, {"rawBytes": "AAAA"}))
        what = "publicKey material"
    return json.dumps(bundle, indent=2).encode("utf-8"), what


def mutate(target: str, case: int, raw: bytes, others: list[bytes], seed: int = 0
           ) -> tuple[bytes, str]:
    """The mutation number ``case`` of ``raw`` (a file of kind ``target``); never ``raw``."""
    rng = random.Random(f"{target}:{seed}:{case}")
    while True:
        kind = rng.random()
        try:
            if target in ("bundle", "model.sig") and kind < 0.35:
                out, what = mutate_envelope(rng, raw, others)
            elif kind < 0.6:
                out, what = mutate_json(rng, raw)
            elif kind < 0.75:
                out, what = mutate_text(rng, raw)
            else:
                out, what = mutate_bytes(rng, raw)
        except (KeyError, IndexError, TypeError, ValueError):
            continue  # this operation does not apply to this document: draw another
        if out != raw:
            return out, what

