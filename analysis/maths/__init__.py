"""Post-hoc studies on trained models: pure functions over `nn.Module`s and tensors, no files,
no Ray. The `python -m analysis.NAME RESULTS_DIR` commands rebuild models from checkpoints and
call these.

    pixels        models that take [0, 1] pixels (normalisation inside), uint8 splits -> floats
    attacks       FGSM accuracy against eps, PGD/BIM, the targeted iterative attack
    hessian       Hessian-vector products of a training loss, dense Hessian for small models
    eigen         top eigenvalues (Lanczos via scipy, PyHessian's power iteration), Hutchinson trace
    density       spectral density by stochastic Lanczos quadrature, the "minimal ratio"
    interpolation loss and accuracy along (1 - alpha) theta_A + alpha theta_B
    sensitivity   Frobenius norm of the input-output Jacobian of the softmax (Novak et al. 2018)
    trajectory    joint 2-D PCA of weight trajectories; one layer's slice of a flat vector
    grad_norm     minimising the squared gradient norm (to reach a critical point)
    params        parameters as one flat vector and back
"""
