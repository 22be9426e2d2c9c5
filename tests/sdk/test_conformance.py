"""The "nothing lost" check itself: it must catch a dropped field and a mistyped one."""

import json

import pytest
from alibabacloud_ens20171110 import models as ens_models
from huaweicloudsdkcce.v3 import CceClient

import conformance

POOL = {"kind": "NodePool", "apiVersion": "v3", "metadata": {"name": "a", "uid": "u"},
        "status": {"currentNode": 1, "phase": ""}}


def huawei(body):
    parsed = CceClient()._deserialize(body, "ShowNodePoolResponse")
    parsed.raw_content = json.dumps(body).encode()
    return conformance.huawei_response(parsed)


def tea(body):
    class Response:
        pass
    Response.body = ens_models.DescribeClusterNodePoolsResponseBody().from_map(body)
    return conformance.tea_response(Response, [body])


def test_a_whole_huawei_answer_passes():
    assert huawei(POOL) == POOL


def test_a_field_the_huawei_model_lacks_is_lost():
    with pytest.raises(conformance.Lost, match=r"\$\.status\.surplusNode: not a field"):
        huawei({**POOL, "status": {"currentNode": 1, "surplusNode": 2}})


def test_a_string_where_the_huawei_model_declares_an_int_is_caught():
    # The SDK would coerce "1" to 1 and hide the difference.
    with pytest.raises(conformance.Lost, match=r"\$\.status\.currentNode: JSON str '1', SDK declares int"):
        huawei({**POOL, "status": {"currentNode": "1"}})


ENS_ANSWER = {"RequestId": "r", "Page": {"PageNumber": 1, "PageSize": 10, "TotalCount": 1},
              "NodePools": [{"ClusterId": "c", "Status": {"State": "active", "TotalNodes": 1}}]}


def test_a_whole_tea_answer_passes():
    assert tea(ENS_ANSWER) == ENS_ANSWER


def test_a_field_the_tea_model_lacks_is_lost():
    answer = {**ENS_ANSWER, "NodePools": [{"ClusterId": "c", "Created2": "x"}]}
    with pytest.raises(conformance.Lost, match=r"\$\.NodePools\[0\]\.Created2: not a field"):
        tea(answer)


def test_a_string_where_the_tea_model_declares_an_int_is_caught():
    answer = {**ENS_ANSWER, "Page": {"PageNumber": "1"}}
    with pytest.raises(conformance.Lost, match=r"\$\.Page\.PageNumber: JSON str '1', SDK declares int"):
        tea(answer)
