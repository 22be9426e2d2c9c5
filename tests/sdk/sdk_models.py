"""The SDK models the field report (docs/sdk-field-report.md) covers, as plain data: for each
model, its fields in declaration order as [JSON key, type], types written `str`, `int`, `bool`,
`float`, `object`, `list[T]`, `dict(str, T)` or a model name.

`python sdk_models.py > ../fixtures/sdk/models.json` regenerates the fixture the Rust side of the
report reads; test_fixtures.py fails when the fixture and the pinned SDKs part ways.
"""

import json
import re
import sys
import typing

import huaweicloudsdkcce.v3 as cce
import huaweicloudsdkmodelarts.v1 as modelarts
from alibabacloud_ens20171110 import models as ens

ROOTS = {
    "cce": (cce, ["NodePool", "NodeSpec", "NodePoolSpecUpdate", "NodePoolStatus"]),
    "modelarts": (modelarts, ["NodePool", "PoolResource", "NodePoolStatus"]),
    "ens": (ens, [
        f"{action}{part}"
        for action in ["CreateClusterNodePool", "DescribeClusterNodePools", "ScaleClusterNodePool",
                       "DeleteClusterNodes", "DescribeClusterNodes", "ModifyClusterNodePool",
                       "DeleteClusterNodePool"]
        for part in ["Request", "ResponseBody"]
    ]),
}

HUAWEI_SCALARS = {"str": "str", "int": "int", "bool": "bool", "float": "float", "object": "object",
                  "datetime": "str", "date": "str"}


def huawei_type(declared):
    if declared.startswith("list["):
        return f"list[{huawei_type(declared[5:-1])}]"
    if declared.startswith("dict("):
        return f"dict(str, {huawei_type(declared[5:-1].split(', ', 1)[1])})"
    return HUAWEI_SCALARS.get(declared, declared)


def huawei_fields(cls):
    return [[cls.attribute_map[attr], huawei_type(declared)] for attr, declared in cls.openapi_types.items()]


def tea_type(declared):
    origin = typing.get_origin(declared)
    if origin in (list, typing.List):
        return f"list[{tea_type(typing.get_args(declared)[0])}]"
    if origin in (dict, typing.Dict):
        return f"dict(str, {tea_type(typing.get_args(declared)[1])})"
    if declared is typing.Any:
        return "object"
    if declared in (str, int, bool, float):
        return declared.__name__
    return declared.__name__


def tea_fields(cls):
    import inspect

    hints = typing.get_type_hints(cls.__init__, globalns=vars(sys.modules[cls.__module__]))
    # JSON keys in the order to_map writes them, matched to attributes by name.
    keys = list(dict.fromkeys(re.findall(r"result\['([^']+)'\]", inspect.getsource(cls.to_map))))
    by_name = {attr.replace("_", "").lower(): attr for attr in hints}
    fields = []
    for key in keys:
        attr = by_name.get(key.replace("_", "").lower())
        if attr is None:
            raise RuntimeError(f"{cls.__name__}: no attribute for JSON key {key}")
        fields.append([key, tea_type(hints[attr])])
    return fields


def element(type_name):
    while True:
        match = re.fullmatch(r"list\[(.*)\]|dict\(str, (.*)\)", type_name)
        if not match:
            return type_name
        type_name = match.group(1) or match.group(2)


def dump():
    out = {}
    for cloud, (module, roots) in ROOTS.items():
        fields_of = huawei_fields if cloud != "ens" else tea_fields
        models = {}
        pending = list(roots)
        while pending:
            name = pending.pop(0)
            if name in models:
                continue
            models[name] = fields_of(getattr(module, name))
            for _, type_name in models[name]:
                inner = element(type_name)
                if inner not in ("str", "int", "bool", "float", "object"):
                    pending.append(inner)
        out[cloud] = {"roots": roots, "models": dict(sorted(models.items()))}
    return out


def text():
    return json.dumps(dump(), indent=1, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    sys.stdout.write(text())
