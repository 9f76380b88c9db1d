"""Reference architectures: shapes, sizes, seeds and bad input."""

import keras
import numpy as np
import pytest

from memsgd import models

SHAPES = [(28, 28, 1), (32, 32, 3)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", sorted(models.ARCHITECTURES))
def test_every_architecture_builds_on_both_image_shapes(name, shape):
    model = models.build(name, shape, 10, seed=0)
    x = np.zeros((2, *shape), np.float32)
    assert model(x).shape == (2, 10)
    assert model.count_params() > 1000


def test_lenet5_parameter_count_matches_the_closed_form():
    # conv1 6*(5*5*1+1), conv2 16*(5*5*6+1), fc1 120*(5*5*16+1) with 'valid'
    # conv2 on 14x14 -> 10x10 -> pool 5x5, fc2 84*(120+1), logits 10*(84+1).
    expected = 6 * 26 + 16 * 151 + 120 * 401 + 84 * 121 + 10 * 85
    assert models.build("lenet", (28, 28, 1), 10).count_params() == expected


def test_resnet20_has_twenty_weighted_layers_and_batch_norm():
    model = models.build("resnet20", (32, 32, 3), 10, width=1.0)
    convs = [la for la in model.layers if isinstance(la, keras.layers.Conv2D)]
    dense = [la for la in model.layers if isinstance(la, keras.layers.Dense)]
    # 1 stem + 3 stages x 3 blocks x 2 convs + logits = 20 (projections aside).
    main_path = [c for c in convs if not c.name.endswith("_proj")]
    assert len(main_path) + len(dense) == 20
    assert any(isinstance(la, keras.layers.BatchNormalization) for la in model.layers)


def test_width_scales_and_seed_fixes_the_weights():
    small = models.build("mlp", (20,), 4, width=0.5)
    big = models.build("mlp", (20,), 4, width=2.0)
    assert small.count_params() < big.count_params()
    a = models.build("vgg", (28, 28, 1), 10, seed=3).get_weights()
    b = models.build("vgg", (28, 28, 1), 10, seed=3).get_weights()
    for wa, wb in zip(a, b):
        np.testing.assert_array_equal(wa, wb)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: models.build("transformer", (28, 28, 1), 10), "Received: name="),
        (lambda: models.build("mlp", (28, 28, 1), 1), "num_classes"),
        (lambda: models.build("lenet", (784,), 10), "needs image inputs"),
        (lambda: models.build("mlp", (28, 28, 1), 10, width=0), "width"),
        (lambda: models.build("vgg", (28, 28), 10), "input_shape"),
    ],
)
def test_bad_input_names_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()
