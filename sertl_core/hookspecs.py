"""Hook specifications of the ``sertl`` plugin system (pluggy project ``sertl``).

A plugin is a module with functions marked ``@sertl_core.hookimpl`` whose
names are the hooks below, published under the entry-point group ``sertl``::

    [project.entry-points.sertl]
    myplugin = "my_package.hooks"

Every ``sertl_register_*`` hook returns a list of classes. Each class carries a
``registry_name`` class attribute, one name across all kinds, that follows the
registry-name rule (CONTRIBUTING.md, "Registry names"); the registry maps that
name to the class, skips a class whose name breaks the rule and withholds a
name two classes claim. Hooks are plain ``@hookimpl`` functions: sertl calls
each plugin's hook on its own, so hook wrappers are not called (and
reported). A class that lacks its kind's methods (``fit`` and ``transform`` for
adapters and features, ``fit`` and ``predict`` for estimators, ``split`` for
splitters, ``read`` for corpora, a call for scorers) is skipped with a
:class:`~sertl_core.registry.PluginLoadWarning` that names the hook it
belongs to.
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("sertl")
hookimpl = pluggy.HookimplMarker("sertl")


@hookspec
def sertl_register_adapters():
    """Return the :class:`~sertl_core.DomainAdapter` subclasses of the plugin.

    Returns
    -------
    list of type
        Transformers that move features between domains, normally
        :class:`~sertl_core.DomainAdapter` subclasses (a transformer routed by
        other metadata, such as speaker ids, is accepted too). Each passes
        :func:`sertl_core.testing.check_estimator`.
    """


@hookspec
def sertl_register_estimators():
    """Return the :class:`~sertl_core.TransferEstimator` subclasses of the plugin.

    Returns
    -------
    list of type
        Meta-estimators that train a wrapped scikit-learn estimator with
        transfer. Each passes :func:`sertl_core.testing.check_estimator`.
    """


@hookspec
def sertl_register_scorers():
    """Return domain-aware scorer classes.

    Returns
    -------
    list of type
        Classes whose instances are called as ``scorer(estimator, X, y,
        sample_domain=None)`` and return a float, greater is better (see
        :mod:`sertl_core.model_selection`).
    """


@hookspec
def sertl_register_splitters():
    """Return domain-aware cross-validation splitter classes.

    Returns
    -------
    list of type
        Cross-validation splitters, as in scikit-learn, whose ``split(X, y,
        groups=None, *, sample_domain=None)`` is domain aware.
    """


@hookspec
def sertl_register_corpora():
    """Return corpus reader classes.

    Returns
    -------
    list of type
        Classes with a ``registry_name``, a ``description`` string and a
        method ``read(root) -> pandas-like table or list of dict`` with the
        columns file, corpus, speaker, gender, language, emotion,
        emotion_orig, duration. The speech plugin defines the reader base
        class and ``load_corpus``.
    """


@hookspec
def sertl_register_features():
    """Return feature extractor classes (scikit-learn transformers).

    Returns
    -------
    list of type
        Transformers from audio (file paths or waveforms) to feature
        matrices or sequences, with ``get_feature_names_out``.
    """


@hookspec
def sertl_add_commands(subparsers):
    """Add sub-commands to the ``sertl`` command line.

    Parameters
    ----------
    subparsers : argparse subparsers action
        Call ``subparsers.add_parser(name, help=...)`` and set
        ``parser.set_defaults(func=callable)``; the callable receives the
        parsed ``argparse.Namespace`` and returns an exit code. sertl's own
        plugins add their commands first; a name that is taken (``run``,
        ``grid``, another plugin's command) raises ``ValueError``, and a
        hook that raises has none of its commands added and is listed by
        ``sertl plugins``. While a command runs, SIGTERM and SIGHUP raise
        :class:`sertl_core.cli.StoppedBySignal`, a ``KeyboardInterrupt``
        (so the command's cleanup runs as on Ctrl-C); one the command lets
        out is reported in one line and exits with ``128 + signum``.

        The command writes its output (a table, ``--json``: what a script
        reads) to ``sys.stdout`` and its progress, notes and errors to
        ``sys.stderr``. Unlike sertl's own commands, whose standard output
        leads to stderr while they work, a plugin's command gets the real
        ``sys.stdout`` (and descriptor 1) for its whole run: what a library
        prints during its work (a ``print``, a training log, a solver's
        verbose output) lands in that output too, so keep such output off
        (``verbose=0``) or wrap the work in
        ``contextlib.redirect_stdout(sys.stderr)``. A failed write to
        ``sys.stdout`` (the reader went away, a full disk) ends the command
        as it ends sertl's own (status 1 or 2).
    """
