"""CCE v3 node pools through huaweicloudsdkcce, against nodepool-sim."""

import json
import urllib.request

from huaweicloudsdkcore.exceptions import exceptions
from huaweicloudsdkcore.signer.signer import Signer
from huaweicloudsdkcce.v3 import (
    CreateNodePoolRequest, DeleteNodePoolRequest, ListNodePoolsRequest, Login, NodePool,
    NodePoolMetadata, NodePoolMetadataUpdate, NodePoolSpec, NodePoolSpecUpdate, NodePoolUpdate,
    NodeSpec, NodeSpecUpdate, ScaleNodePoolRequest, ScaleNodePoolRequestBody, ScaleNodePoolSpec,
    ShowJobRequest, ShowNodePoolRequest, Taint, UpdateNodePoolRequest, Volume,
)

import conformance
from conftest import (
    CCE_CLUSTER, IAM_DOMAIN, IAM_PASSWORD, IAM_USER, PROJECT_ID, cce_client, expect_huawei_error, wait_until_gone,
    huawei_credentials, wait_until,
)



def create_body(name, count=1):
    return NodePool(
        kind="NodePool", api_version="v3", metadata=NodePoolMetadata(name=name),
        spec=NodePoolSpec(
            initial_node_count=count,
            node_template=NodeSpec(
                flavor="s6.large.2", az="cn-north-4a", os="EulerOS 2.9",
                login=Login(ssh_key="sdk-keypair"),
                root_volume=Volume(size=40, volumetype="SAS"),
                data_volumes=[Volume(size=100, volumetype="SAS")],
                taints=[Taint(key="dedicated", value="sdk", effect="NoSchedule")],
                k8s_tags={"team": "sdk"},
            )))


def create(cce, name, count=1):
    answer = cce.create_node_pool(CreateNodePoolRequest(cluster_id=CCE_CLUSTER, body=create_body(name, count)))
    conformance.huawei_response(answer)
    return answer


def show(cce, uid):
    answer = cce.show_node_pool(ShowNodePoolRequest(cluster_id=CCE_CLUSTER, nodepool_id=uid))
    conformance.huawei_response(answer)
    return answer


def settled_at(cce, uid, count):
    def check():
        pool = show(cce, uid)
        status = pool.status
        return pool if (status.phase == "" and status.current_node == count
                        and status.creating_node == 0 and status.deleting_node == 0) else None
    return wait_until(f"pool {uid} settled at {count} nodes", check)


def update(cce, uid, name, **spec):
    body = NodePoolUpdate(metadata=NodePoolMetadataUpdate(name=name), spec=NodePoolSpecUpdate(**spec))
    answer = cce.update_node_pool(UpdateNodePoolRequest(cluster_id=CCE_CLUSTER, nodepool_id=uid, body=body))
    conformance.huawei_response(answer)
    return answer


def test_create_answers_the_pool_with_its_uid_and_zero_counts(cce):
    answer = create(cce, "sdk-create")
    assert answer.status_code == 201
    assert answer.metadata.name == "sdk-create"
    assert answer.metadata.uid
    assert answer.spec.initial_node_count == 1
    assert answer.spec.node_template.k8s_tags["cce.cloud.com/cce-nodepool"] == "sdk-create"
    assert answer.spec.node_template.k8s_tags["team"] == "sdk"
    assert answer.spec.node_template.taints[0].effect == "NoSchedule"
    assert (answer.status.current_node, answer.status.creating_node, answer.status.deleting_node) == (0, 0, 0)
    assert answer.status.phase == ""


def test_show_reports_the_nodes_once_they_are_ready(cce):
    uid = create(cce, "sdk-show", count=2).metadata.uid
    pool = settled_at(cce, uid, 2)
    assert pool.metadata.uid == uid
    assert pool.spec.node_template.flavor == "s6.large.2"
    assert pool.spec.node_template.root_volume.size == 40


def test_list_holds_every_pool_and_hides_the_default_pool(cce):
    uids = {create(cce, f"sdk-list-{i}").metadata.uid for i in range(2)}
    answer = cce.list_node_pools(ListNodePoolsRequest(cluster_id=CCE_CLUSTER))
    conformance.huawei_response(answer)
    assert answer.kind == "List"
    listed = {item.metadata.uid for item in answer.items}
    assert uids <= listed
    assert "DefaultPool" not in {item.metadata.name for item in answer.items}
    with_default = cce.list_node_pools(ListNodePoolsRequest(cluster_id=CCE_CLUSTER, show_default_node_pool="true"))
    conformance.huawei_response(with_default)
    assert len(with_default.items) >= len(answer.items)


def test_update_with_initial_node_count_sets_the_target(cce):
    uid = create(cce, "sdk-update-count").metadata.uid
    settled_at(cce, uid, 1)
    answer = update(cce, uid, "sdk-update-count", initial_node_count=3,
                    node_template=NodeSpecUpdate(k8s_tags={"team": "sdk", "tier": "batch"}))
    assert answer.status_code == 200
    assert answer.spec.initial_node_count == 3
    pool = settled_at(cce, uid, 3)
    assert pool.spec.node_template.k8s_tags["tier"] == "batch"


def test_update_with_ignore_initial_node_count_keeps_the_nodes(cce):
    uid = create(cce, "sdk-update-keep", count=2).metadata.uid
    settled_at(cce, uid, 2)
    update(cce, uid, "sdk-update-keep", ignore_initial_node_count=True,
           node_template=NodeSpecUpdate(k8s_tags={"team": "kept"}))
    pool = show(cce, uid)
    assert pool.status.current_node == 2
    assert pool.status.deleting_node == 0
    assert pool.spec.node_template.k8s_tags["team"] == "kept"


def test_update_without_a_count_drains_the_pool_to_zero(cce):
    # The trap the operator never falls into: no initialNodeCount and no ignoreInitialNodeCount.
    uid = create(cce, "sdk-update-trap", count=2).metadata.uid
    settled_at(cce, uid, 2)
    update(cce, uid, "sdk-update-trap", node_template=NodeSpecUpdate(k8s_tags={"team": "sdk"}))
    settled_at(cce, uid, 0)


def test_scale_sets_the_desired_node_count(cce):
    uid = create(cce, "sdk-scale").metadata.uid
    settled_at(cce, uid, 1)
    body = ScaleNodePoolRequestBody(kind="NodePool", api_version="v3",
                                    spec=ScaleNodePoolSpec(desired_node_count=2, scale_groups=["default"]))
    answer = cce.scale_node_pool(ScaleNodePoolRequest(cluster_id=CCE_CLUSTER, nodepool_id=uid, body=body))
    conformance.huawei_response(answer)
    assert 200 <= answer.status_code < 300
    settled_at(cce, uid, 2)


def test_delete_answers_deleting_with_a_job_and_the_pool_goes_away(cce):
    uid = create(cce, "sdk-delete").metadata.uid
    answer = cce.delete_node_pool(DeleteNodePoolRequest(cluster_id=CCE_CLUSTER, nodepool_id=uid))
    conformance.huawei_response(answer)
    assert answer.status_code == 200
    assert answer.status.phase == "Deleting"
    assert answer.status.job_id
    job = cce.show_job(ShowJobRequest(job_id=answer.status.job_id))
    conformance.huawei_response(job)
    assert job.status.phase in ("Initializing", "Running", "Success")
    wait_until_gone(lambda: show(cce, uid))


def test_a_duplicate_name_is_409(cce):
    create(cce, "sdk-duplicate")
    expect_huawei_error(lambda: create(cce, "sdk-duplicate"), 409, "CCE.01409001")


def test_an_unknown_pool_is_404(cce):
    expect_huawei_error(lambda: show(cce, "00000000-0000-0000-0000-000000000000"), 404, "CCE.01404001")
    expect_huawei_error(lambda: cce.delete_node_pool(DeleteNodePoolRequest(
        cluster_id=CCE_CLUSTER, nodepool_id="00000000-0000-0000-0000-000000000000")), 404, "CCE.01404001")


def test_an_invalid_pool_is_400_naming_the_field(cce):
    body = create_body("sdk-invalid")
    body.spec.node_template.root_volume.size = 10
    error = expect_huawei_error(lambda: cce.create_node_pool(CreateNodePoolRequest(cluster_id=CCE_CLUSTER, body=body)),
                         400, "CCE.01400001")
    assert "rootVolume" in error.error_msg


def test_a_wrong_secret_key_is_a_bad_signature(sim):
    client = cce_client(sim, huawei_credentials(sk="not-the-secret-key"))
    expect_huawei_error(lambda: client.list_node_pools(ListNodePoolsRequest(cluster_id=CCE_CLUSTER)), 401, "APIG.0303")


def test_an_unknown_access_key_is_refused(sim):
    client = cce_client(sim, huawei_credentials(ak="UNKNOWNAK00000000000"))
    expect_huawei_error(lambda: client.list_node_pools(ListNodePoolsRequest(cluster_id=CCE_CLUSTER)), 401, "APIG.0301")


def iam_token(sim):
    user = {"name": IAM_USER, "password": IAM_PASSWORD, "domain": {"name": IAM_DOMAIN}}
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": user}},
                     "scope": {"project": {"id": PROJECT_ID}}}}
    request = urllib.request.Request(sim.url + "/v3/auth/tokens", data=json.dumps(body).encode(),
                                     method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 201
        return answer.headers["X-Subject-Token"]


def token_client(sim, token):
    """A CCE client that authenticates with an IAM token (X-Auth-Token) instead of signing.

    The SDK only signs with AK/SK; IAM users of the API send a token with the same requests, so
    the SDK's models and transport are kept and only the authentication step is replaced. The
    builder accepts credentials by class name, hence the name."""

    class BasicCredentials(huawei_credentials().__class__):
        def sign_request(self, request):
            if token is not None:
                request.header_params["X-Auth-Token"] = token
            Signer.process_request_uri(request)
            return request

    return cce_client(sim, BasicCredentials("unused", "unused", PROJECT_ID))


def test_an_iam_token_authenticates(sim):
    client = token_client(sim, iam_token(sim))
    answer = client.list_node_pools(ListNodePoolsRequest(cluster_id=CCE_CLUSTER))
    conformance.huawei_response(answer)


def test_a_missing_token_is_refused(sim):
    client = token_client(sim, None)
    expect_huawei_error(lambda: client.list_node_pools(ListNodePoolsRequest(cluster_id=CCE_CLUSTER)), 401, "APIG.0301")


def test_an_expired_token_is_refused(make_sim):
    short = make_sim({"tokenLifetime": 1})
    client = token_client(short, iam_token(short))

    def refused():
        try:
            client.list_node_pools(ListNodePoolsRequest(cluster_id=CCE_CLUSTER))
        except exceptions.ClientRequestException as e:
            return e
        return None
    error = wait_until("token expiry", refused)
    assert (error.status_code, error.error_code) == (401, "APIG.0307")
