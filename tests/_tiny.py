"""The tiny forecaster the tests share: small enough to compile and train in seconds."""

TINY = dict(
    hidden_size=8,
    state_size=8,
    blocks=1,
    n_layers=1,
    batch_size=8,
    max_steps=20,
    eval_every=10,
    horizon=12.0,
    random_state=3,
    verbose=False,
    folds=1,  # one network; tests of cross-fitted ensembles ask for folds themselves
)
