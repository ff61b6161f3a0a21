"""Fixtures of the network integration tests: private bridge names and CIDRs, cleaned up after."""
import os

import pytest

from .nettools import remove_netns


@pytest.fixture
def netns_cleanup(tmp_path):
    yield
    for name in os.listdir(str(tmp_path)):
        if name.startswith("ns-"):
            remove_netns(os.path.join(str(tmp_path), name))
