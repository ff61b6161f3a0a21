"""process/init.predict_cgroup_view: the init's cgroup view, known before the parent has placed it.

The prediction must equal what /proc/self/cgroup shows once the parent wrote the init into the
container's directories; it is checked here against this process's own mounts and cgroups.
"""
import os

from gantry.lowlevel.process import init


def _mounts():
    return init._cgroup_mounts()


def test_without_directories_the_view_is_what_we_have_now():
    if any(root != "/" for _, root in _mounts().values()):
        assert init.predict_cgroup_view([]) is None
    else:
        assert init.predict_cgroup_view([]) == init.read_cgroup_view()


def test_a_directory_replaces_the_path_in_its_own_hierarchy_only():
    mounts = _mounts()
    if not mounts or any(root != "/" for _, root in mounts.values()):
        return   # nothing to predict on this machine (no cgroupfs, or mounted below a hierarchy root)
    now = init.read_cgroup_view()
    mount_dir = sorted(now)[0]
    d = os.path.join(mount_dir, "some", "container")
    view = init.predict_cgroup_view([d])
    assert view[mount_dir] == "/some/container"
    assert {k: v for k, v in view.items() if k != mount_dir} == {k: v for k, v in now.items() if k != mount_dir}


def test_a_directory_under_no_cgroup_mount_cannot_be_predicted():
    assert init.predict_cgroup_view(["/nonexistent-cgroup-mount/x"]) is None


def test_placement_waits_for_placed_only_when_asked():
    sent = []

    class Chan:
        def expect(self, t):
            sent.append(t)
            return {"t": t}

    p = init.Placement(Chan(), view_needed=True, dirs=[])
    if p._view is not None:   # predicted: no wait for the view
        assert p.view() == p._view and sent == []
    p.wait()
    p.wait()
    assert sent == ["placed"]
