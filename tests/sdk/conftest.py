"""Fixtures of the SDK conformance suite: a nodepool-sim process per test (with the default
configuration, or one of the test's own) and the clouds' official SDK clients pointed at it
with their default settings.

The suite is run by `tests/sdk_conformance.rs` (part of the README's test command), which passes
the simulator binary in NODEPOOL_SIM_BIN; `pytest tests/sdk` works the same by hand.
"""

import collections
import json
import os
import subprocess
import tempfile
import threading
import time

import pytest

from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions import exceptions
from huaweicloudsdkcce.v3 import CceClient
from huaweicloudsdkmodelarts.v1 import ModelArtsClient
from alibabacloud_ens20171110.client import Client as EnsClient
from alibabacloud_tea_openapi import utils_models as open_api_models

import conformance

HUAWEI_AK = "SIMHUAWEIAK000000001"
HUAWEI_SK = "sim-huawei-secret-key"
PROJECT_ID = "0123456789abcdef0123456789abcdef"
CCE_CLUSTER = "11111111-2222-3333-4444-555555555555"
MODELARTS_POOL = "pool-sim-0000000000000000000000000001"
IAM_USER, IAM_PASSWORD, IAM_DOMAIN = "sim-user", "sim-password", "sim-domain"
ALIBABA_AK = "LTAISIMULATOR0000000001"
ALIBABA_SK = "sim-alibaba-secret"
ENS_CLUSTER = "eck-sim00001"
ENS_REGION = "cn-guiyang-14"

START_DEADLINE = 30.0
WAIT_DEADLINE = 20.0


class Sim:
    """A running nodepool-sim; `url` is where it listens."""

    def __init__(self, config=None, profile="instant"):
        binary = os.environ.get("NODEPOOL_SIM_BIN")
        if not binary:
            raise RuntimeError("NODEPOOL_SIM_BIN must name the nodepool-sim binary")
        args = [binary, "--listen", "127.0.0.1:0", "--log-json", "--profile", profile]
        self._config_file = None
        if config is not None:
            self._config_file = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
            json.dump(config, self._config_file)
            self._config_file.close()
            args += ["--config", self._config_file.name]
        self.process = subprocess.Popen(args, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        self.url = self._wait_for_url()
        # The simulator logs every request: keep reading, so a full pipe never stalls it.
        self.log = collections.deque(maxlen=200)
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        for line in self.process.stderr:
            self.log.append(line)

    def _wait_for_url(self):
        # The first log line announces the bound address; readline returns "" if the sim exits.
        deadline = time.monotonic() + START_DEADLINE
        while time.monotonic() < deadline:
            line = self.process.stderr.readline()
            if not line:
                raise RuntimeError(f"nodepool-sim exited with {self.process.wait()} before listening")
            try:
                event = json.loads(line)
            except ValueError:
                continue
            url = event.get("fields", {}).get("url")
            if url:
                return url
        raise RuntimeError("nodepool-sim did not announce its address in time")

    def admin(self, method, path, body=None):
        import urllib.request

        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            text = answer.read()
            return json.loads(text) if text else None

    def pools(self):
        return self.admin("GET", "/_sim/pools")

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        if self._config_file is not None:
            os.unlink(self._config_file.name)


@pytest.fixture
def sim():
    # One per test: tests share nothing, not even ENS's per-AccessKey request budget.
    running = Sim()
    yield running
    running.stop()


@pytest.fixture
def make_sim():
    """Starts simulators with their own configuration, stopped after the test."""
    started = []

    def make(config=None, profile="instant"):
        running = Sim(config, profile)
        started.append(running)
        return running

    yield make
    for running in started:
        running.stop()


def huawei_credentials(ak=HUAWEI_AK, sk=HUAWEI_SK):
    return BasicCredentials(ak, sk, PROJECT_ID)


def cce_client(sim, credentials=None):
    return (CceClient.new_builder()
            .with_credentials(credentials or huawei_credentials())
            .with_endpoints([sim.url])
            .build())


def modelarts_client(sim, credentials=None):
    return (ModelArtsClient.new_builder()
            .with_credentials(credentials or huawei_credentials())
            .with_endpoints([sim.url])
            .build())


def ens_client(sim, access_key_id=ALIBABA_AK, access_key_secret=ALIBABA_SK):
    host = sim.url.removeprefix("http://")
    config = open_api_models.Config(access_key_id=access_key_id, access_key_secret=access_key_secret,
                                    endpoint=host, protocol="http", region_id=ENS_REGION)
    return EnsClient(config)


@pytest.fixture
def cce(sim):
    return cce_client(sim)


@pytest.fixture
def modelarts(sim):
    return modelarts_client(sim)


@pytest.fixture
def ens(sim):
    return ens_client(sim)


@pytest.fixture(autouse=True)
def raw_bodies():
    """Records the raw JSON of every Alibaba answer (the Tea runtime does not keep it)."""
    with conformance.recording_tea_bodies() as bodies:
        yield bodies


def wait_until(what, check, deadline=WAIT_DEADLINE):
    """Polls `check` until it returns something true, which it returns; fails after `deadline` s."""
    give_up = time.monotonic() + deadline
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > give_up:
            raise AssertionError(f"{what}: not within {deadline} s")
        time.sleep(0.05)


def wait_until_gone(show):
    """Waits until `show` (a Huawei SDK read of a deleted pool) answers 404."""
    def gone():
        try:
            show()
        except exceptions.ClientRequestException as e:
            return e.status_code == 404
        return False
    wait_until("deleted pool answers 404", gone)


def expect_huawei_error(call, status, code):
    """Asserts `call` fails with the Huawei SDK's error of HTTP `status` and error `code`."""
    with pytest.raises(exceptions.ClientRequestException) as raised:
        call()
    assert (raised.value.status_code, raised.value.error_code) == (status, code), raised.value
    assert raised.value.error_msg
    return raised.value
