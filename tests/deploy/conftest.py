import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pulumi_harness as h  # noqa: E402

REPO = "example-org/otter"


@pytest.fixture(scope="session")
def dev():
    return h.run("dev", environ={"OTTER_GITHUB_REPOSITORY": REPO})


@pytest.fixture(scope="session")
def prod():
    return h.run("prod", environ={"OTTER_GITHUB_REPOSITORY": REPO})


@pytest.fixture(scope="session", params=["dev", "prod"])
def stack(request, dev, prod):
    """(env, recorded) for each environment."""
    return request.param, {"dev": dev, "prod": prod}[request.param]
