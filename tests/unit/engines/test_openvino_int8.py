"""openvino_int8: the weights' int8 values and scales, and which MatMuls of a graph are rewritten."""

from __future__ import annotations

import numpy as np
import pytest

from hf_serving.engines.openvino import int8 as openvino_int8
from hf_serving.engines.openvino import runtime as openvino_runtime

pytestmark = pytest.mark.skipif(not openvino_runtime.available(), reason="openvino is in requirements.txt")


def test_symmetric_int8_keeps_every_weight_within_half_a_step_of_its_channel_scale():
    rng = np.random.default_rng(3)
    weight = rng.normal(size=(6, 40)).astype(np.float32) * np.array([[0.01], [1], [30], [0.5], [2], [7]], np.float32)
    weight[3] = 0.0  # a dead channel
    values, scales = openvino_int8.symmetric_int8(weight, input_axis=1)
    assert values.dtype == np.int8 and scales.dtype == np.float32
    assert values.shape == (6, 40) and scales.shape == (6, 1)
    assert values.min() >= -127 and values.max() <= 127
    # Each channel's largest weight maps to +-127 exactly; the dead channel keeps scale 1 and zeros.
    assert [int(np.abs(row).max()) for row in np.delete(values, 3, axis=0)] == [127] * 5
    assert scales[3, 0] == 1.0 and not values[3].any()
    assert np.all(np.abs(values * scales - weight) <= scales / 2 + 1e-6)


def test_symmetric_int8_scales_along_the_output_axis_either_way_round():
    weight = np.array([[1.0, -4.0], [0.5, 2.0], [0.25, 1.0]], np.float32)  # [in=3, out=2]
    values, scales = openvino_int8.symmetric_int8(weight, input_axis=0)
    np.testing.assert_allclose(scales, [[1 / 127, 4 / 127]])
    assert values.tolist() == [[127, -127], [64, 64], [32, 32]]


def _graph_with_two_linear_layers_and_one_activation_product():
    ov = openvino_runtime.load()
    import openvino.opset13 as ops

    rng = np.random.default_rng(0)
    x = ops.parameter([-1, 8], ov.Type.f32, name="x")
    hidden = ops.matmul(x, ops.constant(rng.normal(size=(16, 8)).astype(np.float32)), False, True)  # torch's Linear
    out = ops.matmul(hidden, ops.constant(rng.normal(size=(16, 4)).astype(np.float32)), False, False)
    gram = ops.matmul(out, out, False, True)  # no constant weight: stays as it is
    return ov.Model([out, gram], [x]), rng.normal(size=(5, 8)).astype(np.float32)


def test_compress_rewrites_the_constant_weights_only_and_the_graph_still_computes_the_same():
    ov = openvino_runtime.load()

    graph, sample = _graph_with_two_linear_layers_and_one_activation_product()
    core = ov.Core()
    config = {"INFERENCE_PRECISION_HINT": "f32"}
    before = core.compile_model(graph, "CPU", config)(sample)
    assert openvino_int8.compress_linear_weights(graph) == 2
    kinds = [node.get_type_name() for node in graph.get_ordered_ops()]
    assert kinds.count("Convert") == 2 and kinds.count("Multiply") == 2 and kinds.count("MatMul") == 3
    assert sorted(
        node.get_element_type().get_type_name()
        for node in graph.get_ordered_ops()
        if node.get_type_name() == "Constant"
        and node.get_output_size() == 1
        and node.get_output_partial_shape(0).rank.get_length() == 2
    ) == ["f32", "f32", "i8", "i8"]
    after = core.compile_model(graph, "CPU", config)(sample)
    for index in range(2):
        reference = before[index]
        np.testing.assert_allclose(after[index], reference, atol=0.02 * np.abs(reference).max())
    assert openvino_int8.compress_linear_weights(graph) == 0  # nothing float left to rewrite
