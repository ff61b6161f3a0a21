"""Line coverage of each target's modules reached by replaying its corpora (committed and grown).

    python -m tests.fuzz.measure [TARGET ...]      (what ``python -m tests.fuzz --coverage`` runs)

Coverage starts before anything of gantry is imported, so module-level lines count too.
"""
import sys


def main(argv):
    import coverage

    cov = coverage.Coverage(data_file=None)
    cov.start()
    from . import harness
    from .__main__ import work_corpus

    names = argv or harness.target_names()
    targets = {n: harness.load(n) for n in names}
    for name in names:
        harness.replay(targets[name], harness.corpus_files(name, [work_corpus(name)]), measure_memory=False)
    cov.stop()
    print("coverage of the target modules (replay of the committed and grown corpora):")
    for name in names:
        for mod in targets[name].modules:
            _, statements, _, missing, _ = cov.analysis2(sys.modules[mod].__file__)
            done = len(statements) - len(missing)
            print("  %-12s %-44s %4d/%-4d lines %5.1f%%" % (name, mod, done, len(statements),
                                                         100.0 * done / max(1, len(statements))))


if __name__ == "__main__":
    main(sys.argv[1:])
