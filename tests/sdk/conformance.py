"""What "nothing lost" means for an SDK-parsed answer.

For every field of the raw JSON the simulator sent, the SDK's model must hold it (an unknown key
is silently dropped by both SDKs' deserialisers), with the value the JSON carried, and the JSON
value must have the type the SDK declares for that field (the Huawei SDK coerces, so a string
where it declares an int would otherwise pass unnoticed).
"""

import contextlib
import json
import sys
import typing

from darabonba.utils.stream import Stream


class Lost(AssertionError):
    pass


# Fields a seed document describes and the SDK's model lacks: the seed wins (docs/simulator.md,
# "Where the SDKs and the seeds differ"). Keyed by (SDK model, JSON key).
SEED_OVER_SDK = {
    # CCE create, seed 001: `publicIP {ids, count, eip {iptype, bandwidth}}`; the SDK's
    # NodeTemplate types publicIP as the inner EIP spec.
    ("NodeEIPSpec", "eip"): "seed 001 nests the EIP under publicIP.eip",
    ("NodeEIPSpec", "ids"): "seed 001 lists existing EIPs in publicIP.ids",
    ("NodeEIPSpec", "count"): "seed 001 counts new EIPs in publicIP.count",
}


# --- Huawei Cloud SDK v3 models: `openapi_types` (attr -> declared type), `attribute_map`
# (attr -> JSON key).

def _huawei_problems(model, raw, path):
    problems = []
    if not isinstance(raw, dict):
        return [f"{path}: JSON {type(raw).__name__}, SDK model {type(model).__name__} wants an object"]
    by_json_key = {key: attr for attr, key in model.attribute_map.items()}
    for key, value in raw.items():
        attr = by_json_key.get(key)
        if attr is None and (type(model).__name__, key) in SEED_OVER_SDK:
            continue
        if attr is None:
            problems.append(f"{path}.{key}: not a field of the SDK's {type(model).__name__} (dropped)")
            continue
        problems += _huawei_value(getattr(model, attr), value, model.openapi_types[attr], f"{path}.{key}",
                                  sys.modules[type(model).__module__])
    return problems


def _models_module(module):
    # The generated model files live in `<package>.model.<name>`; their classes are all exported
    # from `<package>`.
    package = module.__name__.rsplit(".model.", 1)[0]
    return sys.modules[package]


def _huawei_value(held, raw, declared, path, module):
    if raw is None:
        return []
    if declared.startswith("list["):
        if not isinstance(raw, list):
            return [f"{path}: JSON {type(raw).__name__}, SDK declares {declared}"]
        if not isinstance(held, list) or len(held) != len(raw):
            return [f"{path}: SDK holds {held!r}, JSON has {len(raw)} items"]
        inner = declared[5:-1]
        return [p for i, (h, r) in enumerate(zip(held, raw)) for p in _huawei_value(h, r, inner, f"{path}[{i}]", module)]
    if declared.startswith("dict("):
        if not isinstance(raw, dict):
            return [f"{path}: JSON {type(raw).__name__}, SDK declares {declared}"]
        inner = declared[5:-1].split(", ", 1)[1]
        if not isinstance(held, dict) or set(held) != set(raw):
            return [f"{path}: SDK holds {held!r}, JSON has keys {sorted(raw)}"]
        return [p for k in raw for p in _huawei_value(held[k], raw[k], inner, f"{path}.{k}", module)]
    scalar = _SCALARS.get(declared)
    if scalar is not None:
        if not scalar(raw):
            return [f"{path}: JSON {type(raw).__name__} {raw!r}, SDK declares {declared}"]
        if declared in ("str", "int", "bool", "float", "object") and held != raw:
            return [f"{path}: SDK holds {held!r}, JSON has {raw!r}"]
        return []
    cls = getattr(_models_module(module), declared, None)
    if cls is None:
        return [f"{path}: SDK declares unknown type {declared}"]
    if not isinstance(held, cls):
        return [f"{path}: SDK holds {type(held).__name__}, declares {declared}"]
    return _huawei_problems(held, raw, path)


_SCALARS = {
    "str": lambda v: isinstance(v, str),
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "bool": lambda v: isinstance(v, bool),
    "object": lambda v: True,
    "datetime": lambda v: isinstance(v, str),
    "date": lambda v: isinstance(v, str),
}


def huawei_response(response):
    """Asserts the SDK response holds every field of the body it was parsed from; returns the body."""
    raw = json.loads(response.raw_content) if response.raw_content else {}
    if isinstance(raw, list):
        # Answers whose body is a JSON array are held in the response's `body` field.
        problems = _huawei_value(response.body, raw, response.openapi_types["body"], "$", sys.modules[type(response).__module__])
    else:
        problems = _huawei_problems(response, raw, "$")
    if problems:
        raise Lost(f"{type(response).__name__} loses fields of the simulator's answer:\n  " + "\n  ".join(problems))
    return raw


# --- Alibaba Cloud Tea (Darabonba) models: attributes declared by `__init__` annotations, JSON
# keys only known to `from_map`/`to_map`.

@contextlib.contextmanager
def recording_tea_bodies():
    """Records every JSON body the Tea runtime reads, most recent last."""
    bodies = []
    original = Stream.read_as_json

    def recording(stream):
        value = original(stream)
        bodies.append(value)
        return value

    Stream.read_as_json = staticmethod(recording)
    try:
        yield bodies
    finally:
        Stream.read_as_json = staticmethod(original)


def _tea_hints(cls):
    module = sys.modules[cls.__module__]
    return typing.get_type_hints(cls.__init__, globalns=vars(module))


def _tea_attr_of(cls, key, value):
    """The attribute `from_map` stores JSON key `key` in, or None when it drops it."""
    baseline = vars(cls().from_map({}))
    probed = vars(cls().from_map({key: value}))
    changed = [attr for attr in probed if probed[attr] != baseline.get(attr)]
    if len(changed) == 1:
        return changed[0]
    if not changed:
        # An empty list or object reads the same as absent; match the key by name instead.
        for attr in _tea_hints(cls):
            if attr.replace("_", "").lower() == key.replace("_", "").lower():
                return attr
    return None


def _tea_problems(model, raw, path):
    if not isinstance(raw, dict):
        return [f"{path}: JSON {type(raw).__name__}, SDK model {type(model).__name__} wants an object"]
    problems = []
    cls = type(model)
    hints = _tea_hints(cls)
    for key, value in raw.items():
        attr = _tea_attr_of(cls, key, value)
        if attr is None:
            problems.append(f"{path}.{key}: not a field of the SDK's {cls.__name__} (dropped)")
            continue
        problems += _tea_value(getattr(model, attr), value, hints.get(attr, typing.Any), f"{path}.{key}")
    return problems


def _tea_value(held, raw, declared, path):
    if raw is None:
        return []
    origin = typing.get_origin(declared)
    if declared is typing.Any:
        return [] if held == raw else [f"{path}: SDK holds {held!r}, JSON has {raw!r}"]
    if origin in (list, typing.List):
        if not isinstance(raw, list):
            return [f"{path}: JSON {type(raw).__name__}, SDK declares {declared}"]
        if not isinstance(held, list) or len(held) != len(raw):
            return [f"{path}: SDK holds {held!r}, JSON has {len(raw)} items"]
        (inner,) = typing.get_args(declared)
        return [p for i, (h, r) in enumerate(zip(held, raw)) for p in _tea_value(h, r, inner, f"{path}[{i}]")]
    if origin in (dict, typing.Dict):
        if not isinstance(raw, dict):
            return [f"{path}: JSON {type(raw).__name__}, SDK declares {declared}"]
        inner = typing.get_args(declared)[1]
        if not isinstance(held, dict) or set(held) != set(raw):
            return [f"{path}: SDK holds {held!r}, JSON has keys {sorted(raw)}"]
        return [p for k in raw for p in _tea_value(held[k], raw[k], inner, f"{path}.{k}")]
    if declared in (str, int, float, bool):
        name = declared.__name__
        if not _SCALARS[name](raw):
            return [f"{path}: JSON {type(raw).__name__} {raw!r}, SDK declares {name}"]
        return [] if held == raw else [f"{path}: SDK holds {held!r}, JSON has {raw!r}"]
    if isinstance(declared, type):
        if not isinstance(held, declared):
            return [f"{path}: SDK holds {type(held).__name__}, declares {declared.__name__}"]
        return _tea_problems(held, raw, path)
    return [f"{path}: SDK declares {declared!r}, which this check does not know"]


def tea_response(response, bodies):
    """Asserts the SDK response's body model holds every field of the JSON the simulator sent
    (the most recent recorded body); returns that JSON."""
    if not bodies:
        raise Lost("the SDK read no JSON body")
    raw = bodies[-1]
    problems = _tea_problems(response.body, raw, "$")
    # to_map is what users serialise the parsed answer with: it must give the JSON back.
    problems += _contains(response.body.to_map(), raw, "$")
    if problems:
        raise Lost(f"{type(response.body).__name__} loses fields of the simulator's answer:\n  " + "\n  ".join(problems))
    return raw


def _contains(mapped, raw, path):
    if isinstance(raw, dict):
        if not isinstance(mapped, dict):
            return [f"{path}: to_map gives {mapped!r}"]
        return [p for k, v in raw.items()
                for p in ([f"{path}.{k}: missing from to_map"] if k not in mapped else _contains(mapped[k], v, f"{path}.{k}"))]
    if isinstance(raw, list):
        if not isinstance(mapped, list) or len(mapped) != len(raw):
            return [f"{path}: to_map gives {mapped!r}"]
        return [p for i, (m, r) in enumerate(zip(mapped, raw)) for p in _contains(m, r, f"{path}[{i}]")]
    return [] if mapped == raw else [f"{path}: to_map gives {mapped!r}, JSON has {raw!r}"]
