"""COPY into a rootfs: destinations resolved inside it, attributes, archives refused when hostile."""
import io
import os
import tarfile

import pytest
from gantry.highlevel import errors
from gantry.highlevel.build import executor_copy as cp


@pytest.mark.parametrize("dest, workdir, full", [
    ("/app", "/", "/app"), ("app/", "/src", "/src/app/"), (".", "/w", "/w/"), ("./x", "/w", "/w/x"),
    ("../up", "/a/b", "/a/up"), ("/", "/w", "/"),
])
def test_container_dest(dest, workdir, full):
    assert cp.container_dest(dest, workdir) == full


def test_secure_join_keeps_symlinks_inside_the_rootfs(tmp_path):
    root = tmp_path / "root"
    (root / "real").mkdir(parents=True)
    os.symlink("/real", root / "abs")            # absolute: restarts at the rootfs, not the host's /
    os.symlink("../../../../etc", root / "up")   # .. stops at the rootfs
    assert cp.secure_join(str(root), "/abs/x") == str(root / "real" / "x")
    assert cp.secure_join(str(root), "/up/passwd") == str(root / "etc" / "passwd")
    made = cp.secure_join(str(root), "/abs/new/dir", create_dirs=True)
    assert made == str(root / "real" / "new" / "dir") and os.path.isdir(made)


def test_secure_join_refuses_a_file_as_a_directory(tmp_path):
    (tmp_path / "f").write_text("")
    with pytest.raises(errors.InvalidArgument, match="not a directory"):
        cp.secure_join(str(tmp_path), "/f/x", create_dirs=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root (chown)")
def test_copy_entry_attributes(tmp_path):
    src = tmp_path / "src"
    (src / "d").mkdir(parents=True)
    (src / "d" / "f").write_text("x")
    os.chmod(src / "d" / "f", 0o640)
    os.utime(src / "d" / "f", (1, 1000000))
    os.symlink("f", src / "d" / "l")
    dest = tmp_path / "dest"
    cp.copy_entry(str(src / "d"), str(dest), cp.Attrs())
    st = os.lstat(dest / "f")
    assert (oct(st.st_mode & 0o7777), st.st_uid, int(st.st_mtime)) == ("0o640", 0, 1000000)
    assert os.readlink(dest / "l") == "f"
    cp.copy_entry(str(src / "d" / "f"), str(dest / "g"), cp.Attrs(chown=(7, 8), chmod=0o755))
    st = os.lstat(dest / "g")
    assert (oct(st.st_mode & 0o7777), st.st_uid, st.st_gid) == ("0o755", 7, 8)
    (dest / "sub").mkdir()
    with pytest.raises(errors.InvalidArgument, match="directory is in the way"):
        cp.copy_entry(str(src / "d" / "f"), str(dest / "sub"), cp.Attrs())


def _tar(name, data=b"x", kind=tarfile.REGTYPE, linkname=""):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        info = tarfile.TarInfo(name)
        info.type, info.linkname = kind, linkname
        info.size = len(data) if kind == tarfile.REGTYPE else 0
        tf.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
    return buf.getvalue()


@pytest.mark.parametrize("tar", [
    _tar("../escape"), _tar("/abs"), _tar("a/../../escape"),
    _tar("h", kind=tarfile.LNKTYPE, linkname="../../etc/passwd"),
])
def test_hostile_archives_are_refused(tmp_path, tar):
    path = tmp_path / "x.tar"
    path.write_bytes(tar)
    assert cp.is_archive(str(path))
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    with pytest.raises(errors.InvalidArgument):
        cp.add_archive(str(path), str(tmp_path / "dest"), cp.Attrs(), str(scratch))
    assert not (tmp_path / "escape").exists()


def test_plain_files_are_not_archives(tmp_path):
    (tmp_path / "t").write_text("just text " * 100)
    assert not cp.is_archive(str(tmp_path / "t"))
