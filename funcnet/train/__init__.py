"""Training: the compiled step, the epoch runners, ``fit``, its history, evaluation.

The public names are re-exported at the top level (``funcnet.fit``,
``funcnet.make_step``, ...). The modules, in the order a step meets them:

* ``step``: the update body and ``make_step`` (one jit-compiled step);
* ``guard``: the non-finite flag, the skip, and naming the arrays that went bad;
* ``batching``: index plans that cover every sample once, padded and masked;
* ``epochs``: an epoch as one ``lax.scan`` call, or step by step from the host;
* ``metrics``: correctness per sample and the masked sums of loss and accuracy;
* ``history``: an epoch's metrics as a history row;
* ``setup``: ``fit``'s argument checks, start-up, resume and checkpoint saves;
* ``identity``: what a checkpoint records about its run, so resume refuses another;
* ``early_stopping``: the rule and the watch kept over epochs;
* ``inputs``: checks of a dataset ``(x, y)``;
* ``evaluate``: ``evaluate`` and ``predict``, compiled once per dataset shape;
* ``fit``: the training loop that puts them together;
* ``history_log``: ``history_logger``, a callback writing each history row to a CSV or
  JSON-lines file as training goes (crash-safe), and ``read_history``.
"""
