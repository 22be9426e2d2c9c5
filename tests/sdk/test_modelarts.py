"""ModelArts v2 node pools through huaweicloudsdkmodelarts, against nodepool-sim."""


from huaweicloudsdkmodelarts.v1 import (
    CreateNodePoolMetaVO, CreateNodePoolRequest, CreateNodePoolRequestBody, DeleteNodePoolRequest,
    ListNodePoolNodesRequest, ListNodePoolsRequest, NodeNetwork, NodePoolSpec, PatchNodePoolRequest,
    PatchNodePoolRequestBody, PoolResource, ShowNodePoolRequest, Taints,
)

import conformance
from conftest import (
    MODELARTS_POOL, expect_huawei_error, huawei_credentials, modelarts_client, wait_until, wait_until_gone,
)

FLAVOR = "modelarts.vm.2u4g.dcc"


def resources(name, count, **extra):
    return PoolResource(
        flavor=FLAVOR, count=count, max_count=count, node_pool=name,
        network=NodeNetwork(vpc="277e9abc-0e6b-431a-9232-cfd25d5fc566",
                            subnet="03796378-c356-4c14-826b-e4913aa9c8b9",
                            security_groups=["0a15b48d-06f1-41e4-b782-ade90087bf59"]),
        **extra)


def create(modelarts, name, count=1):
    body = CreateNodePoolRequestBody(
        api_version="v2", kind="NodePool", metadata=CreateNodePoolMetaVO(name=name),
        spec=NodePoolSpec(resources=resources(name, count, labels={"team": "sdk"},
                                              taints=[Taints(key="dedicated", value="sdk", effect="NoSchedule")])))
    answer = modelarts.create_node_pool(CreateNodePoolRequest(pool_name=MODELARTS_POOL, body=body))
    conformance.huawei_response(answer)
    return answer


def show(modelarts, name):
    answer = modelarts.show_node_pool(ShowNodePoolRequest(pool_name=MODELARTS_POOL, nodepool_name=name))
    conformance.huawei_response(answer)
    return answer


def available(pool):
    buckets = pool.status.resources if pool.status else None
    return buckets.available.count if buckets and buckets.available else 0


def settled_at(modelarts, name, count):
    def check():
        pool = show(modelarts, name)
        buckets = pool.status.resources
        busy = [b for b in (buckets.creating, buckets.deleting, buckets.abnormal) if b and b.count]
        return pool if available(pool) == count and not busy else None
    return wait_until(f"pool {name} settled at {count} nodes", check)


def test_create_answers_the_pool(modelarts):
    answer = create(modelarts, "sdk-create")
    assert answer.status_code == 200
    assert answer.metadata.name == "sdk-create"
    assert answer.spec.resources.flavor == FLAVOR
    assert answer.spec.resources.count == 1
    assert answer.spec.resources.labels == {"team": "sdk"}


def test_show_reports_available_nodes_once_ready(modelarts):
    create(modelarts, "sdk-show", count=2)
    pool = settled_at(modelarts, "sdk-show", 2)
    assert pool.kind == "NodePool"
    assert pool.spec.resources.taints[0].effect == "NoSchedule"


def test_list_holds_every_pool(modelarts):
    for i in range(2):
        create(modelarts, f"sdk-list-{i}")
    answer = modelarts.list_node_pools(ListNodePoolsRequest(pool_name=MODELARTS_POOL))
    conformance.huawei_response(answer)
    assert {"sdk-list-0", "sdk-list-1"} <= {item.metadata.name for item in answer.items}


def test_patch_changes_the_count_and_keeps_what_it_leaves_out(modelarts):
    create(modelarts, "sdk-patch")
    settled_at(modelarts, "sdk-patch", 1)
    body = PatchNodePoolRequestBody(spec=NodePoolSpec(resources=resources("sdk-patch", 3)))
    answer = modelarts.patch_node_pool(PatchNodePoolRequest(pool_name=MODELARTS_POOL, nodepool_name="sdk-patch", body=body))
    conformance.huawei_response(answer)
    assert answer.spec.resources.count == 3
    pool = settled_at(modelarts, "sdk-patch", 3)
    # A merge patch: labels and taints the patch did not mention are kept.
    assert pool.spec.resources.labels == {"team": "sdk"}
    assert pool.spec.resources.taints[0].key == "dedicated"


def test_list_nodes_names_each_node_of_the_pool(modelarts):
    create(modelarts, "sdk-nodes", count=2)
    settled_at(modelarts, "sdk-nodes", 2)
    answer = modelarts.list_node_pool_nodes(ListNodePoolNodesRequest(pool_name=MODELARTS_POOL, nodepool_name="sdk-nodes"))
    conformance.huawei_response(answer)
    assert len(answer.items) == 2
    assert {node.spec.flavor for node in answer.items} == {FLAVOR}
    assert len({node.metadata.name for node in answer.items}) == 2


def test_delete_removes_the_pool(modelarts):
    create(modelarts, "sdk-delete")
    answer = modelarts.delete_node_pool(DeleteNodePoolRequest(pool_name=MODELARTS_POOL, nodepool_name="sdk-delete"))
    conformance.huawei_response(answer)
    assert answer.status_code == 200
    wait_until_gone(lambda: show(modelarts, "sdk-delete"))


def test_a_duplicate_name_is_refused(modelarts):
    create(modelarts, "sdk-duplicate")
    expect_huawei_error(lambda: create(modelarts, "sdk-duplicate"), 400, "ModelArts.50004000")


def test_an_unknown_pool_is_404(modelarts):
    expect_huawei_error(lambda: show(modelarts, "sdk-nowhere"), 404, "ModelArts.50015001")
    expect_huawei_error(lambda: modelarts.delete_node_pool(
        DeleteNodePoolRequest(pool_name=MODELARTS_POOL, nodepool_name="sdk-nowhere")), 404, "ModelArts.50015001")


def test_a_wrong_secret_key_is_a_bad_signature(sim):
    client = modelarts_client(sim, huawei_credentials(sk="not-the-secret-key"))
    expect_huawei_error(lambda: client.list_node_pools(ListNodePoolsRequest(pool_name=MODELARTS_POOL)), 401, "APIG.0303")


def test_an_invalid_name_is_400_naming_the_rule(modelarts):
    error = expect_huawei_error(lambda: create(modelarts, "Bad_Name"), 400, "ModelArts.50004000")
    assert "invalid nodepool name" in error.error_msg
    answer = modelarts.list_node_pools(ListNodePoolsRequest(pool_name=MODELARTS_POOL))
    assert "Bad_Name" not in {item.metadata.name for item in answer.items}
