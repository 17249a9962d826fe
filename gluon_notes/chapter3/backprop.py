"""Forward and backward propagation (the notes' section 正向传播、反向传播和计算图): the notes'
one-hidden-layer MLP with an L2 term, by hand and by autograd.

The notes' notation, for one example x ∈ R^d with label y and no biases:
z = W1 x, h = φ(z), o = W2 h, L = ℓ(o, y), s = λ/2 (‖W1‖² + ‖W2‖²), J = L + s, with W1 (h×d),
W2 (q×h). Here ℓ is the softmax cross-entropy and φ one of sigmoid, tanh, relu.
"""
import json
from collections import OrderedDict

import mxnet as mx
from mxnet import autograd, nd

from .. import checks
from .linear_regression import _check_ndarray, _check_real

__all__ = ['ACTIVATIONS', 'forward_propagation', 'backward_propagation', 'autograd_gradients',
           'computation_graph']

# φ and φ' (the latter as a function of z and h = φ(z)), written out by hand.
ACTIVATIONS = {
    'sigmoid': (lambda F, z: F.sigmoid(z, name='h'), lambda z, h: h * (1 - h)),
    'tanh': (lambda F, z: F.tanh(z, name='h'), lambda z, h: 1 - h ** 2),
    'relu': (lambda F, z: F.relu(z, name='h'), lambda z, h: (z > 0).astype(z.dtype)),
}


def _forward(F, x, y, W1, W2, half_lambd, activation, perturb=None):
    """The notes' forward pass with ``F`` = mx.nd or mx.sym; returns z, h, o, L, s, J.
    ``half_lambd`` is λ/2 as a (1,) array (an input of the graph, as x and y are).

    ``perturb`` maps some of 'z', 'h', 'o' to zero arrays added to that variable: autograd only
    differentiates with respect to leaves, and ∂J/∂(zero added to v) = ∂J/∂v.
    """
    perturb = perturb or {}

    def add(name, value):
        return value + perturb[name] if name in perturb else value

    z = add('z', F.dot(W1, x, name='z'))
    h = add('h', ACTIVATIONS[activation][0](F, z))
    o = add('o', F.dot(W2, h, name='o'))
    L = F.negative(F.pick(F.log_softmax(o, axis=0, name='log_softmax'), y, axis=0, name='pick'),
                   name='L')
    norms = F.add_n(F.sum(F.square(W1, name='W1_sq'), name='W1_sq_sum'),
                    F.sum(F.square(W2, name='W2_sq'), name='W2_sq_sum'), name='norms')
    s = F.broadcast_mul(half_lambd, norms, name='s')
    J = F.elemwise_add(L, s, name='J')
    return z, h, o, L, s, J


def _check_inputs(x, y, W1, W2, lambd, activation):
    if activation not in ACTIVATIONS:
        raise ValueError('activation must be one of %s, got %r'
                         % (', '.join(ACTIVATIONS), activation))
    lambd = _check_real('lambd', lambd, minimum=0)
    _check_ndarray('x', x)
    _check_ndarray('W1', W1, ndim=2)
    _check_ndarray('W2', W2, ndim=2)
    if x.size != W1.shape[1] or x.ndim > 2 or (x.ndim == 2 and x.shape[1] != 1):
        raise ValueError('x must be a vector of W1.shape[1] = %d values (one example), got shape %s'
                         % (W1.shape[1], x.shape))
    if W2.shape[1] != W1.shape[0]:
        raise ValueError('W2 must have W1.shape[0] = %d columns (hidden units), got shape %s'
                         % (W1.shape[0], W2.shape))
    num_classes = W2.shape[0]
    if not checks.is_integer(y) or not 0 <= y < num_classes:
        raise ValueError('y must be an integer class label in [0, %d), got %r' % (num_classes, y))
    return x.reshape((-1, 1)), nd.array([int(y)], ctx=x.context), lambd


def _half(lambd, ctx):
    return nd.array([lambd / 2], ctx=ctx)


def forward_propagation(x, y, W1, W2, lambd, activation='sigmoid'):
    """The notes' forward pass on one example: an OrderedDict z, h, o, L, s, J in the order they
    are computed (column vectors, L, s and J of shape (1,))."""
    x, y, lambd = _check_inputs(x, y, W1, W2, lambd, activation)
    values = _forward(nd, x, y, W1, W2, _half(lambd, x.context), activation)
    return OrderedDict(zip('z h o L s J'.split(), values))


def backward_propagation(x, y, W1, W2, lambd, activation='sigmoid'):
    """The gradients of J by hand, in the notes' backward order, as an OrderedDict:
    ∂J/∂L = ∂J/∂s = 1; ∂J/∂o = ∂L/∂o = softmax(o) − onehot(y); ∂s/∂W1 = λW1, ∂s/∂W2 = λW2;
    ∂J/∂W2 = ∂J/∂o hᵀ + λW2; ∂J/∂h = W2ᵀ ∂J/∂o; ∂J/∂z = ∂J/∂h ⊙ φ'(z); ∂J/∂W1 = ∂J/∂z xᵀ + λW1.
    """
    x, y, lambd = _check_inputs(x, y, W1, W2, lambd, activation)
    z, h, o = _forward(nd, x, y, W1, W2, _half(lambd, x.context), activation)[:3]
    grads = OrderedDict()
    grads['dJ/dL'] = nd.ones((1,), ctx=x.context)
    grads['dJ/ds'] = nd.ones((1,), ctx=x.context)
    grads['dJ/do'] = grads['dJ/dL'] * (nd.softmax(o, axis=0) - nd.one_hot(y, o.shape[0]).T)
    grads['ds/dW1'] = lambd * W1
    grads['ds/dW2'] = lambd * W2
    grads['dJ/dW2'] = nd.dot(grads['dJ/do'], h.T) + grads['dJ/ds'] * grads['ds/dW2']
    grads['dJ/dh'] = nd.dot(W2.T, grads['dJ/do'])
    grads['dJ/dz'] = grads['dJ/dh'] * ACTIVATIONS[activation][1](z, h)
    grads['dJ/dW1'] = nd.dot(grads['dJ/dz'], x.T) + grads['dJ/ds'] * grads['ds/dW1']
    return grads


def autograd_gradients(x, y, W1, W2, lambd, activation='sigmoid'):
    """∂J/∂W1, ∂J/∂W2, ∂J/∂z, ∂J/∂h and ∂J/∂o as MXNet's autograd computes them (a dict with the
    same keys as ``backward_propagation``)."""
    x, y, lambd = _check_inputs(x, y, W1, W2, lambd, activation)
    W1, W2 = W1.copy(), W2.copy()
    perturb = {name: nd.zeros((rows, 1), ctx=x.context)
               for name, rows in (('z', W1.shape[0]), ('h', W1.shape[0]), ('o', W2.shape[0]))}
    for leaf in [W1, W2] + list(perturb.values()):
        leaf.attach_grad()
    with autograd.record():
        J = _forward(nd, x, y, W1, W2, _half(lambd, x.context), activation, perturb)[-1]
    J.backward()
    return {'dJ/dW1': W1.grad, 'dJ/dW2': W2.grad, 'dJ/dz': perturb['z'].grad,
            'dJ/dh': perturb['h'].grad, 'dJ/do': perturb['o'].grad}


def computation_graph(activation='sigmoid'):
    """The forward computation graph of J as MXNet's symbolic API builds it from the same code:
    a list of ``(output, operator, inputs)`` for every operator node, in topological (forward)
    order; backpropagation visits it in reverse."""
    if activation not in ACTIVATIONS:
        raise ValueError('activation must be one of %s, got %r'
                         % (', '.join(ACTIVATIONS), activation))
    sym = mx.sym
    J = _forward(sym, sym.var('x'), sym.var('y'), sym.var('W1'), sym.var('W2'),
                 sym.var('lambda/2'), activation)[-1]
    nodes = json.loads(J.tojson())['nodes']
    return [(node['name'], node['op'], tuple(nodes[i[0]]['name'] for i in node['inputs']))
            for node in nodes if node['op'] != 'null']
