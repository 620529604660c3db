"""The benches' --dtype choices are the model field's: a bench can run a model in
any precision an admin can set, and no other."""

from bench.environment import DTYPES
from genhub.models import AIModel


def test_the_bench_dtypes_are_the_models_dtypes():
    assert sorted(DTYPES) == sorted(AIModel.Dtype.values)
