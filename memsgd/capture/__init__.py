"""Record stochastic gradient noise (SGN) of Keras 3 training, in-graph.

Two protocols, both writing the HDF5 format of :mod:`memsgd.recording`:

* In training: wrap the optimizer, keep calling ``fit``::

      probe = GradientProbe(model, loss, x, y, every=1)
      model.compile(optimizer=NoiseRecorder(keras.optimizers.SGD(0.1),
                                            probe=probe, path="run.h5"),
                    loss=loss)
      model.fit(x, y, batch_size=128, epochs=5, callbacks=[probe])

* Frozen weights: ``record_frozen(model, loss, x, y, batch_size=128,
  num_batches=1000, path="run.h5")`` holds w fixed and records
  xi_1..xi_T for T fresh minibatches.

Under MultiWorkerMirroredStrategy, where Keras' ``fit`` does not run
(keras-team/keras#20585), :func:`train` is a small custom loop that uses the
same recorder and probe.

SGN is xi_k = g_k - grad L(w_k) (Tan, Zhang & Liu, arXiv:2105.02062).
Requires the TensorFlow backend of Keras 3.
"""

from memsgd.capture._coords import CoordinateSet, select_coordinates
from memsgd.capture._distributed import make_train_step, train
from memsgd.capture._frozen import SAMPLERS, minibatch_indices, record_frozen
from memsgd.capture._probe import GradientProbe
from memsgd.capture._recorder import NoiseRecorder, find_recorder

__all__ = [
    "SAMPLERS",
    "CoordinateSet",
    "GradientProbe",
    "NoiseRecorder",
    "find_recorder",
    "make_train_step",
    "minibatch_indices",
    "record_frozen",
    "select_coordinates",
    "train",
]
