"""generate-server's replicas: one per GPU by default (issue 18: several replicas when
there are several GPUs), as asked otherwise, and what each replica reserves."""

import pytest

pytest.importorskip("ray", reason="the cluster extra (pip install -e '.[cluster]')")

from gansynth_live.cluster.server import replica_count, replica_options  # noqa: E402


@pytest.mark.parametrize("requested, gpus, expected", [
    (None, 0, 1), (None, 1, 1), (None, 4, 4), (None, 2.5, 2),  # by default, one per GPU
    (3, 0, 3), (1, 8, 1),  # as asked, GPUs or not
])
def test_replicas_default_to_one_per_gpu(requested, gpus, expected):
    assert replica_count(requested, gpus) == expected


def test_a_replica_reserves_a_gpu_where_there_are_gpus_else_a_cpu():
    assert replica_options(2) == {"num_gpus": 1}
    assert replica_options(0) == {"num_cpus": 1}
