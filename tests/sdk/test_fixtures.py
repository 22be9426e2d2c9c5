"""The answer fixtures the operator's wire types are tested with (tests/fixtures), read by the
official SDKs' models: a fixture the SDK would lose fields of is a misreading the operator and
the simulator would share."""

import json
import pathlib

import pytest
from alibabacloud_ens20171110 import models as ens_models
from huaweicloudsdkcce.v3 import CceClient
from huaweicloudsdkmodelarts.v1 import ModelArtsClient

import conformance

FIXTURES = pathlib.Path(__file__).resolve().parent.parent / "fixtures"

HUAWEI = {
    "cce/create-response.json": (CceClient, "CreateNodePoolResponse"),
    "cce/create-response-turbo.json": (CceClient, "CreateNodePoolResponse"),
    "cce/create-response-zh.json": (CceClient, "CreateNodePoolResponse"),
    "cce/delete-response.json": (CceClient, "DeleteNodePoolResponse"),
    "cce/job-response.json": (CceClient, "ShowJobResponse"),
    "cce/list-response.json": (CceClient, "ListNodePoolsResponse"),
    "modelarts/create-response.json": (ModelArtsClient, "CreateNodePoolResponse"),
    "modelarts/get-response-bucket-object.json": (ModelArtsClient, "ShowNodePoolResponse"),
    "modelarts/list-response.json": (ModelArtsClient, "ListNodePoolsResponse"),
    "modelarts/patch-response.json": (ModelArtsClient, "PatchNodePoolResponse"),
}

ENS = {
    "ens/create-cluster-node-pool-response.json": ens_models.CreateClusterNodePoolResponseBody,
    "ens/describe-cluster-node-pools-response.json": ens_models.DescribeClusterNodePoolsResponseBody,
    "ens/describe-cluster-nodes-response.json": ens_models.DescribeClusterNodesResponseBody,
    "ens/request-id-response.json": ens_models.DeleteClusterNodePoolResponseBody,
}


def huawei_parse(client_class, response_type, text):
    """The response the SDK's client builds from an answer with body `text`."""
    parser = client_class()
    parsed = parser._deserialize(json.loads(text), response_type)
    parsed.raw_content = text.encode()
    return parsed


@pytest.mark.parametrize("fixture", sorted(HUAWEI))
def test_huawei_fixture_is_read_whole_by_the_sdk(fixture):
    client_class, response_type = HUAWEI[fixture]
    conformance.huawei_response(huawei_parse(client_class, response_type, (FIXTURES / fixture).read_text()))


@pytest.mark.parametrize("fixture", sorted(ENS))
def test_ens_fixture_is_read_whole_by_the_sdk(fixture):
    raw = json.loads((FIXTURES / fixture).read_text())

    class Response:
        body = ENS[fixture]().from_map(raw)
    conformance.tea_response(Response, [raw])


def test_the_array_form_of_modelarts_buckets_is_not_what_the_sdk_reads():
    # The resource-pool documents show each status bucket as an array; the SDK types it as one
    # object, which is why the simulator answers objects unless told otherwise.
    text = (FIXTURES / "modelarts/get-response-bucket-array.json").read_text()
    with pytest.raises(conformance.Lost, match="status.resources"):
        conformance.huawei_response(huawei_parse(ModelArtsClient, "ShowNodePoolResponse", text))


def test_the_field_report_models_match_the_pinned_sdks():
    # tests/fixtures/sdk/models.json feeds the field report (tests/sdk_field_report.rs).
    import sdk_models

    committed = (FIXTURES / "sdk/models.json").read_text()
    assert committed == sdk_models.text(), (
        "tests/fixtures/sdk/models.json is stale: regenerate it with "
        "`python tests/sdk/sdk_models.py > tests/fixtures/sdk/models.json` in the SDK environment")
