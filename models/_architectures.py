"""Builders for the reference architectures.

Sizes follow the literature's small-image versions, shrunk by default so that
a few epochs on the embedded data take about a minute each on two cores:

* ``mlp``: fully connected, ReLU (Simsekli et al. 2019, arXiv:1901.06053).
* ``lenet``: LeNet-5 (LeCun et al. 1998), ReLU and max pooling.
* ``vgg``: VGG-style blocks of 3x3 convolutions (Simonyan & Zisserman 2015,
  arXiv:1409.1556), narrowed.
* ``resnet20``: the CIFAR ResNet with 3 stages of ``depth`` basic blocks and
  batch normalisation (He et al. 2016, arXiv:1512.03385); depth 3 is ResNet-20.
* ``alexnet``: a small AlexNet-style network (Krizhevsky et al. 2012) as used
  for CIFAR in the SGN papers.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import keras
from keras import layers


def _check(name: str, value, low: float = 1) -> None:
    if not isinstance(value, (int, float)) or value < low:
        raise ValueError(
            f"`{name}` must be a number >= {low}. Received: {name}={value!r}"
        )


def _check_shape(input_shape) -> tuple[int, ...]:
    shape = tuple(int(s) for s in input_shape)
    if len(shape) not in (1, 3) or min(shape) < 1:
        raise ValueError(
            "`input_shape` must be (features,) or (height, width, channels). "
            f"Received: input_shape={input_shape!r}"
        )
    return shape


def _conv_input(shape: tuple[int, ...], name: str) -> None:
    if len(shape) != 3:
        raise ValueError(
            f"`{name}` needs image inputs (height, width, channels). "
            f"Received: input_shape={shape!r}"
        )


def _w(base: int, width: float) -> int:
    return max(1, math.ceil(base * width))


def _conv(filters: int, kernel: int, init, name: str, padding: str = "same"):
    """A ReLU convolution with the builder's initialiser."""
    return layers.Conv2D(
        filters,
        kernel,
        padding=padding,
        activation="relu",
        kernel_initializer=init,
        name=name,
    )


def _head(x, units, num_classes: int, init):
    """Flatten, ReLU dense layers ``fc1, fc2, ...``, then the logits."""
    x = layers.Flatten()(x)
    for i, n in enumerate(units, start=1):
        x = layers.Dense(n, "relu", kernel_initializer=init, name=f"fc{i}")(x)
    return layers.Dense(num_classes, kernel_initializer=init, name="logits")(x)


def mlp(input_shape, num_classes, width: float = 1.0, depth: int = 2, seed: int = 0):
    """A fully connected ReLU network with ``depth`` hidden layers of 128*width."""
    shape = _check_shape(input_shape)
    _check("width", width, 1e-3)
    _check("depth", depth)
    init = keras.initializers.GlorotUniform(seed=seed)
    inputs = keras.Input(shape)
    outputs = _head(inputs, [_w(128, width)] * int(depth), num_classes, init)
    return keras.Model(inputs, outputs, name="mlp")


def lenet(input_shape, num_classes, width: float = 1.0, seed: int = 0):
    """LeNet-5: conv(6,5x5)-pool-conv(16,5x5)-pool-fc120-fc84, ReLU."""
    shape = _check_shape(input_shape)
    _conv_input(shape, "lenet")
    _check("width", width, 1e-3)
    init = keras.initializers.GlorotUniform(seed=seed)
    inputs = keras.Input(shape)
    x = _conv(_w(6, width), 5, init, "conv1")(inputs)
    x = layers.MaxPooling2D()(x)
    x = _conv(_w(16, width), 5, init, "conv2", padding="valid")(x)
    x = layers.MaxPooling2D()(x)
    outputs = _head(x, [_w(120, width), _w(84, width)], num_classes, init)
    return keras.Model(inputs, outputs, name="lenet")


def vgg(input_shape, num_classes, width: float = 1.0, depth: int = 1, seed: int = 0):
    """VGG-style: three stages of ``depth`` 3x3 convs (16, 32, 64)*width + pool."""
    shape = _check_shape(input_shape)
    _conv_input(shape, "vgg")
    _check("width", width, 1e-3)
    _check("depth", depth)
    init = keras.initializers.HeNormal(seed=seed)
    inputs = keras.Input(shape)
    x = inputs
    for stage, filters in enumerate((16, 32, 64)):
        for j in range(int(depth)):
            x = _conv(_w(filters, width), 3, init, f"conv{stage}_{j}")(x)
        x = layers.MaxPooling2D()(x)
    outputs = _head(x, [_w(128, width)], num_classes, init)
    return keras.Model(inputs, outputs, name="vgg")


def _basic_block(x, filters, stride, init, name):
    def conv_bn(y, kernel, stride, suffix):
        y = layers.Conv2D(
            filters,
            kernel,
            stride,
            padding="same",
            use_bias=False,
            kernel_initializer=init,
            name=f"{name}_{suffix}",
        )(y)
        return layers.BatchNormalization(name=f"{name}_{suffix}bn")(y)

    y = layers.ReLU()(conv_bn(x, 3, stride, "conv1"))
    y = conv_bn(y, 3, 1, "conv2")
    shortcut = x
    if stride != 1 or x.shape[-1] != filters:
        shortcut = conv_bn(x, 1, stride, "proj")
    return layers.ReLU()(layers.Add()([y, shortcut]))


def resnet20(
    input_shape, num_classes, width: float = 0.5, depth: int = 3, seed: int = 0
):
    """CIFAR ResNet (6*depth+2 layers) with batch norm; widths (16,32,64)*width.

    The default ``width=0.5`` halves the channels so it trains on two cores;
    ``width=1`` is the published ResNet-20 (He et al. 2016, arXiv:1512.03385).
    """
    shape = _check_shape(input_shape)
    _conv_input(shape, "resnet20")
    _check("width", width, 1e-3)
    _check("depth", depth)
    init = keras.initializers.HeNormal(seed=seed)
    inputs = keras.Input(shape)
    x = layers.Conv2D(
        _w(16, width),
        3,
        padding="same",
        use_bias=False,
        kernel_initializer=init,
        name="stem",
    )(inputs)
    x = layers.ReLU()(layers.BatchNormalization(name="stem_bn")(x))
    for stage, filters in enumerate((16, 32, 64)):
        for block in range(int(depth)):
            stride = 2 if stage > 0 and block == 0 else 1
            x = _basic_block(x, _w(filters, width), stride, init, f"s{stage}b{block}")
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(num_classes, kernel_initializer=init, name="logits")(x)
    return keras.Model(inputs, outputs, name="resnet20")


def alexnet(input_shape, num_classes, width: float = 1.0, seed: int = 0):
    """Small AlexNet-style net: conv(32,5)-pool-conv(64,5)-pool-conv(64,3)-pool-fc."""
    shape = _check_shape(input_shape)
    _conv_input(shape, "alexnet")
    _check("width", width, 1e-3)
    init = keras.initializers.HeNormal(seed=seed)
    inputs = keras.Input(shape)
    x = inputs
    for i, (filters, kernel) in enumerate(((32, 5), (64, 5), (64, 3)), start=1):
        x = _conv(_w(filters, width), kernel, init, f"conv{i}")(x)
        x = layers.MaxPooling2D(3, 2, padding="same")(x)
    outputs = _head(x, [_w(192, width)], num_classes, init)
    return keras.Model(inputs, outputs, name="alexnet")


ARCHITECTURES: dict[str, Callable[..., keras.Model]] = {
    "mlp": mlp,
    "lenet": lenet,
    "vgg": vgg,
    "resnet20": resnet20,
    "alexnet": alexnet,
}


def build(name: str, input_shape, num_classes: int, **kwargs) -> keras.Model:
    """Builds a reference architecture by name.

    Args:
        name: one of ``ARCHITECTURES`` (``mlp``, ``lenet``, ``vgg``,
            ``resnet20``, ``alexnet``).
        input_shape: one input's shape without the batch axis.
        num_classes: number of output logits.
        **kwargs: the builder's own options (``width``, ``depth``, ``seed``).

    Returns:
        An uncompiled ``keras.Model`` that outputs logits.

    Raises:
        ValueError: for an unknown name or a bad size.
    """
    if name not in ARCHITECTURES:
        raise ValueError(
            f"`name` must be one of {', '.join(ARCHITECTURES)}. Received: name={name!r}"
        )
    if int(num_classes) != num_classes or num_classes < 2:
        raise ValueError(
            "`num_classes` must be an integer >= 2. "
            f"Received: num_classes={num_classes!r}"
        )
    return ARCHITECTURES[name](input_shape, int(num_classes), **kwargs)
