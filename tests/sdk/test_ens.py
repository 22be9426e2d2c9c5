"""ENS cluster node pools through alibabacloud-ens20171110 (Alibaba's V3 signer), against
nodepool-sim."""


import pytest
from alibabacloud_ens20171110 import models as ens_models
from alibabacloud_tea_openapi.exceptions import ClientException

import conformance
from conftest import ALIBABA_AK, ENS_CLUSTER, ens_client, wait_until

INSTANCE_TYPE = "ens.sn1.small"


def create(ens, bodies, name, size=1):
    request = ens_models.CreateClusterNodePoolRequest(
        cluster_id=ENS_CLUSTER,
        nodepool_info=ens_models.CreateClusterNodePoolRequestNodepoolInfo(name=name),
        scaling_group=ens_models.CreateClusterNodePoolRequestScalingGroup(
            desired_size=size, key_pair_name="sdk-keypair", vswitch_ids=["vsw-58eu2p6v64qw8ihhit1wz7wgv"],
            instance_charge_type="PostPaid", instance_types=[INSTANCE_TYPE],
            system_disk_category="cloud_efficiency", system_disk_size=80,
            image_id="m-6734fzvcwcv2o8jj201cpa7ox",
            data_disks=[ens_models.CreateClusterNodePoolRequestScalingGroupDataDisks(category="cloud_efficiency", size=80)]),
        kubernetes_config=ens_models.CreateClusterNodePoolRequestKubernetesConfig(user_data="ZWNobyBvawo="))
    answer = ens.create_cluster_node_pool(request)
    conformance.tea_response(answer, bodies)
    return answer.body.nodepool.nodepool_info.nodepool_id


def describe_pools(ens, bodies, **paging):
    answer = ens.describe_cluster_node_pools(ens_models.DescribeClusterNodePoolsRequest(cluster_id=ENS_CLUSTER, **paging))
    conformance.tea_response(answer, bodies)
    return answer.body


def pool(ens, bodies, pool_id):
    for item in describe_pools(ens, bodies, page_size=100).node_pools:
        if item.nodepool_info.nodepool_id == pool_id:
            return item
    return None


def describe_nodes(ens, bodies, pool_id):
    answer = ens.describe_cluster_nodes(ens_models.DescribeClusterNodesRequest(
        cluster_id=ENS_CLUSTER, nodepool_id=pool_id, page_size=100))
    conformance.tea_response(answer, bodies)
    return answer.body.nodes


def settled_at(ens, bodies, pool_id, count):
    def check():
        item = pool(ens, bodies, pool_id)
        status = item.status if item else None
        return item if (status and status.state == "active" and status.serving_nodes == count
                        and status.total_nodes == count) else None
    return wait_until(f"pool {pool_id} serving {count} nodes", check)


def test_create_answers_the_pool_with_its_id(ens, raw_bodies):
    pool_id = create(ens, raw_bodies, "sdk-create")
    assert pool_id
    answer = raw_bodies[-1]
    assert answer["RequestId"]
    assert answer["Nodepool"]["NodepoolInfo"]["Name"] == "sdk-create"


def test_describe_pools_reports_serving_nodes_and_pages(ens, raw_bodies):
    pool_id = create(ens, raw_bodies, "sdk-describe", size=2)
    item = settled_at(ens, raw_bodies, pool_id, 2)
    assert item.cluster_id == ENS_CLUSTER
    assert item.nodepool_info.name == "sdk-describe"
    assert item.scaling_group.instance_types == [INSTANCE_TYPE]
    assert item.scaling_group.password != "some-test-password"
    first = describe_pools(ens, raw_bodies, page_number=1, page_size=1)
    assert len(first.node_pools) == 1
    assert first.page.page_size == 1
    assert first.page.total_count >= 1


def test_scale_out_sets_the_new_total(ens, raw_bodies):
    pool_id = create(ens, raw_bodies, "sdk-scale")
    settled_at(ens, raw_bodies, pool_id, 1)
    answer = ens.scale_cluster_node_pool(ens_models.ScaleClusterNodePoolRequest(
        cluster_id=ENS_CLUSTER, nodepool_id=pool_id, body=ens_models.ScaleClusterNodePoolRequestBody(count=3)))
    conformance.tea_response(answer, raw_bodies)
    assert answer.body.request_id
    settled_at(ens, raw_bodies, pool_id, 3)


def test_describe_nodes_and_delete_chosen_nodes(ens, raw_bodies):
    pool_id = create(ens, raw_bodies, "sdk-nodes", size=2)
    settled_at(ens, raw_bodies, pool_id, 2)
    nodes = describe_nodes(ens, raw_bodies, pool_id)
    assert len(nodes) == 2
    assert {node.nodepool_id for node in nodes} == {pool_id}
    victim = nodes[0].instance_id
    answer = ens.delete_cluster_nodes(ens_models.DeleteClusterNodesRequest(
        cluster_id=ENS_CLUSTER, release_node=True, body=ens_models.DeleteClusterNodesRequestBody(nodes=[victim])))
    conformance.tea_response(answer, raw_bodies)
    settled_at(ens, raw_bodies, pool_id, 1)
    assert victim not in {node.instance_id for node in describe_nodes(ens, raw_bodies, pool_id)}


def test_modify_changes_the_scaling_group(ens, raw_bodies):
    pool_id = create(ens, raw_bodies, "sdk-modify")
    answer = ens.modify_cluster_node_pool(ens_models.ModifyClusterNodePoolRequest(
        cluster_id=ENS_CLUSTER,
        nodepool_info=ens_models.ModifyClusterNodePoolRequestNodepoolInfo(nodepool_id=pool_id),
        scaling_group=ens_models.ModifyClusterNodePoolRequestScalingGroup(image_id="m-67bdk1kpu1ylmt7k33h5dbiov")))
    conformance.tea_response(answer, raw_bodies)
    assert pool(ens, raw_bodies, pool_id).scaling_group.image_id == "m-67bdk1kpu1ylmt7k33h5dbiov"


def test_delete_pool_removes_it(ens, raw_bodies):
    pool_id = create(ens, raw_bodies, "sdk-delete")
    answer = ens.delete_cluster_node_pool(ens_models.DeleteClusterNodePoolRequest(cluster_id=ENS_CLUSTER, nodepool_id=pool_id))
    conformance.tea_response(answer, raw_bodies)
    wait_until("deleted pool leaves the list", lambda: pool(ens, raw_bodies, pool_id) is None)


def expect_error(call, status, code):
    with pytest.raises(ClientException) as raised:
        call()
    assert (raised.value.status_code, raised.value.code) == (status, code), raised.value
    return raised.value


def test_a_wrong_secret_is_a_signature_mismatch(sim, raw_bodies):
    client = ens_client(sim, access_key_secret="not-the-secret")
    expect_error(lambda: describe_pools(client, raw_bodies), 400, "SignatureDoesNotMatch")


def test_an_unknown_access_key_is_refused(sim, raw_bodies):
    client = ens_client(sim, access_key_id="LTAIUNKNOWN000000000")
    expect_error(lambda: describe_pools(client, raw_bodies), 404, "InvalidAccessKeyId.NotFound")


def test_a_missing_cluster_is_a_missing_parameter(ens, raw_bodies):
    with pytest.raises(ClientException) as raised:
        ens.describe_cluster_node_pools(ens_models.DescribeClusterNodePoolsRequest())
    assert raised.value.code == "MissingParameter"


def test_an_invalid_pool_is_a_bad_request(ens, raw_bodies):
    request = ens_models.CreateClusterNodePoolRequest(
        cluster_id=ENS_CLUSTER, nodepool_info=ens_models.CreateClusterNodePoolRequestNodepoolInfo(name="sdk-invalid"),
        scaling_group=ens_models.CreateClusterNodePoolRequestScalingGroup(desired_size=-1, instance_types=[INSTANCE_TYPE]))
    error = expect_error(lambda: ens.create_cluster_node_pool(request), 400, "BadRequest")
    assert error.message


def test_writes_beyond_the_per_second_limit_are_throttled(make_sim, raw_bodies):
    # A limit of 2 writes per second, so even a slow machine sends the third within the second.
    sim = make_sim({"ensLimits": {"writesPerSecond": 2, "readsPerSecond": 100}})
    client = ens_client(sim)
    pool_id = create(client, raw_bodies, "sdk-throttle")
    request = ens_models.ModifyClusterNodePoolRequest(
        cluster_id=ENS_CLUSTER, nodepool_info=ens_models.ModifyClusterNodePoolRequestNodepoolInfo(nodepool_id=pool_id),
        kubernetes_config=ens_models.ModifyClusterNodePoolRequestKubernetesConfig(user_data="ZWNobyBvawo="))
    errors = []
    for _ in range(5):
        try:
            client.modify_cluster_node_pool(request)
        except ClientException as error:
            errors.append(error)
    assert errors, "6 writes in a row were all accepted"
    assert {(e.status_code, e.code) for e in errors} == {(400, "Throttling.User")}
    assert "flow control" in errors[0].message
    refused = [r for r in sim.admin("GET", "/_sim/requests?cloud=ens") if r.get("errorCode")]
    assert {r["principal"] for r in refused} == {ALIBABA_AK}
