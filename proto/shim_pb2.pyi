from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Status(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    UNKNOWN: _ClassVar[Status]
    CREATED: _ClassVar[Status]
    RUNNING: _ClassVar[Status]
    STOPPED: _ClassVar[Status]
    PAUSED: _ClassVar[Status]

class Stream(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STDOUT: _ClassVar[Stream]
    STDERR: _ClassVar[Stream]
UNKNOWN: Status
CREATED: Status
RUNNING: Status
STOPPED: Status
PAUSED: Status
STDOUT: Stream
STDERR: Stream

class Empty(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ConnectRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ConnectResponse(_message.Message):
    __slots__ = ("shim_pid", "task_pid", "version", "id")
    SHIM_PID_FIELD_NUMBER: _ClassVar[int]
    TASK_PID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    shim_pid: int
    task_pid: int
    version: str
    id: str
    def __init__(self, shim_pid: _Optional[int] = ..., task_pid: _Optional[int] = ..., version: _Optional[str] = ..., id: _Optional[str] = ...) -> None: ...

class CreateRequest(_message.Message):
    __slots__ = ("id", "bundle", "terminal", "stdin", "log_path")
    ID_FIELD_NUMBER: _ClassVar[int]
    BUNDLE_FIELD_NUMBER: _ClassVar[int]
    TERMINAL_FIELD_NUMBER: _ClassVar[int]
    STDIN_FIELD_NUMBER: _ClassVar[int]
    LOG_PATH_FIELD_NUMBER: _ClassVar[int]
    id: str
    bundle: str
    terminal: bool
    stdin: bool
    log_path: str
    def __init__(self, id: _Optional[str] = ..., bundle: _Optional[str] = ..., terminal: _Optional[bool] = ..., stdin: _Optional[bool] = ..., log_path: _Optional[str] = ...) -> None: ...

class CreateResponse(_message.Message):
    __slots__ = ("pid",)
    PID_FIELD_NUMBER: _ClassVar[int]
    pid: int
    def __init__(self, pid: _Optional[int] = ...) -> None: ...

class StartRequest(_message.Message):
    __slots__ = ("exec_id",)
    EXEC_ID_FIELD_NUMBER: _ClassVar[int]
    exec_id: str
    def __init__(self, exec_id: _Optional[str] = ...) -> None: ...

class StartResponse(_message.Message):
    __slots__ = ("pid",)
    PID_FIELD_NUMBER: _ClassVar[int]
    pid: int
    def __init__(self, pid: _Optional[int] = ...) -> None: ...

class StateRequest(_message.Message):
    __slots__ = ("exec_id",)
    EXEC_ID_FIELD_NUMBER: _ClassVar[int]
    exec_id: str
    def __init__(self, exec_id: _Optional[str] = ...) -> None: ...

class StateResponse(_message.Message):
    __slots__ = ("id", "exec_id", "bundle", "pid", "status", "terminal", "stdin", "log_path", "exit_status", "exited_at_ns", "reason")
    ID_FIELD_NUMBER: _ClassVar[int]
    EXEC_ID_FIELD_NUMBER: _ClassVar[int]
    BUNDLE_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TERMINAL_FIELD_NUMBER: _ClassVar[int]
    STDIN_FIELD_NUMBER: _ClassVar[int]
    LOG_PATH_FIELD_NUMBER: _ClassVar[int]
    EXIT_STATUS_FIELD_NUMBER: _ClassVar[int]
    EXITED_AT_NS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    id: str
    exec_id: str
    bundle: str
    pid: int
    status: Status
    terminal: bool
    stdin: bool
    log_path: str
    exit_status: int
    exited_at_ns: int
    reason: str
    def __init__(self, id: _Optional[str] = ..., exec_id: _Optional[str] = ..., bundle: _Optional[str] = ..., pid: _Optional[int] = ..., status: _Optional[_Union[Status, str]] = ..., terminal: _Optional[bool] = ..., stdin: _Optional[bool] = ..., log_path: _Optional[str] = ..., exit_status: _Optional[int] = ..., exited_at_ns: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class KillRequest(_message.Message):
    __slots__ = ("exec_id", "signal", "all")
    EXEC_ID_FIELD_NUMBER: _ClassVar[int]
    SIGNAL_FIELD_NUMBER: _ClassVar[int]
    ALL_FIELD_NUMBER: _ClassVar[int]
    exec_id: str
    signal: int
    all: bool
    def __init__(self, exec_id: _Optional[str] = ..., signal: _Optional[int] = ..., all: _Optional[bool] = ...) -> None: ...

class WaitRequest(_message.Message):
    __slots__ = ("exec_id",)
    EXEC_ID_FIELD_NUMBER: _ClassVar[int]
    exec_id: str
    def __init__(self, exec_id: _Optional[str] = ...) -> None: ...

class WaitResponse(_message.Message):
    __slots__ = ("exit_status", "exited_at_ns", "reason")
    EXIT_STATUS_FIELD_NUMBER: _ClassVar[int]
    EXITED_AT_NS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    exit_status: int
    exited_at_ns: int
    reason: str
    def __init__(self, exit_status: _Optional[int] = ..., exited_at_ns: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class DeleteRequest(_message.Message):
    __slots__ = ("exec_id", "force")
    EXEC_ID_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    exec_id: str
    force: bool
    def __init__(self, exec_id: _Optional[str] = ..., force: _Optional[bool] = ...) -> None: ...

class DeleteResponse(_message.Message):
    __slots__ = ("pid", "exit_status", "exited_at_ns")
    PID_FIELD_NUMBER: _ClassVar[int]
    EXIT_STATUS_FIELD_NUMBER: _ClassVar[int]
    EXITED_AT_NS_FIELD_NUMBER: _ClassVar[int]
    pid: int
    exit_status: int
    exited_at_ns: int
    def __init__(self, pid: _Optional[int] = ..., exit_status: _Optional[int] = ..., exited_at_ns: _Optional[int] = ...) -> None: ...

class ExecRequest(_message.Message):
    __slots__ = ("exec_id", "spec", "terminal", "stdin", "log_path")
    EXEC_ID_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    TERMINAL_FIELD_NUMBER: _ClassVar[int]
    STDIN_FIELD_NUMBER: _ClassVar[int]
    LOG_PATH_FIELD_NUMBER: _ClassVar[int]
    exec_id: str
    spec: bytes
    terminal: bool
    stdin: bool
    log_path: str
    def __init__(self, exec_id: _Optional[str] = ..., spec: _Optional[bytes] = ..., terminal: _Optional[bool] = ..., stdin: _Optional[bool] = ..., log_path: _Optional[str] = ...) -> None: ...

class ResizePtyRequest(_message.Message):
    __slots__ = ("exec_id", "width", "height")
    EXEC_ID_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    exec_id: str
    width: int
    height: int
    def __init__(self, exec_id: _Optional[str] = ..., width: _Optional[int] = ..., height: _Optional[int] = ...) -> None: ...

class CloseIORequest(_message.Message):
    __slots__ = ("exec_id",)
    EXEC_ID_FIELD_NUMBER: _ClassVar[int]
    exec_id: str
    def __init__(self, exec_id: _Optional[str] = ...) -> None: ...

class AttachRequest(_message.Message):
    __slots__ = ("exec_id", "stdin", "stdout", "stderr", "direct", "data", "close_stdin")
    EXEC_ID_FIELD_NUMBER: _ClassVar[int]
    STDIN_FIELD_NUMBER: _ClassVar[int]
    STDOUT_FIELD_NUMBER: _ClassVar[int]
    STDERR_FIELD_NUMBER: _ClassVar[int]
    DIRECT_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    CLOSE_STDIN_FIELD_NUMBER: _ClassVar[int]
    exec_id: str
    stdin: bool
    stdout: bool
    stderr: bool
    direct: bool
    data: bytes
    close_stdin: bool
    def __init__(self, exec_id: _Optional[str] = ..., stdin: _Optional[bool] = ..., stdout: _Optional[bool] = ..., stderr: _Optional[bool] = ..., direct: _Optional[bool] = ..., data: _Optional[bytes] = ..., close_stdin: _Optional[bool] = ...) -> None: ...

class AttachResponse(_message.Message):
    __slots__ = ("stream", "data")
    STREAM_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    stream: Stream
    data: bytes
    def __init__(self, stream: _Optional[_Union[Stream, str]] = ..., data: _Optional[bytes] = ...) -> None: ...

class ReopenLogRequest(_message.Message):
    __slots__ = ("exec_id",)
    EXEC_ID_FIELD_NUMBER: _ClassVar[int]
    exec_id: str
    def __init__(self, exec_id: _Optional[str] = ...) -> None: ...

class StatsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StatsResponse(_message.Message):
    __slots__ = ("cpu_usage_ns", "memory_usage_bytes", "memory_limit_bytes", "memory_working_set_bytes", "pids_current", "pids_limit", "oom_kills", "cgroup_version", "timestamp_ns", "oom_events", "last_oom_at_ns", "cpu_user_ns", "cpu_system_ns", "cpu_periods", "cpu_throttled_periods", "cpu_throttled_ns", "memory_cache_bytes", "memory_rss_bytes", "memory_mapped_file_bytes", "memory_swap_bytes", "memory_failcnt", "memory_max_usage_bytes", "memory_kernel_bytes", "memory_pgfault", "memory_pgmajfault", "memory_hierarchy_pgfault", "memory_hierarchy_pgmajfault", "cpu_shares", "cpu_period_us", "cpu_quota_us", "memory_reservation_bytes", "memory_swap_limit_bytes", "block_devices", "hugetlb", "cpu_pressure", "io_pressure", "memory_pressure")
    CPU_USAGE_NS_FIELD_NUMBER: _ClassVar[int]
    MEMORY_USAGE_BYTES_FIELD_NUMBER: _ClassVar[int]
    MEMORY_LIMIT_BYTES_FIELD_NUMBER: _ClassVar[int]
    MEMORY_WORKING_SET_BYTES_FIELD_NUMBER: _ClassVar[int]
    PIDS_CURRENT_FIELD_NUMBER: _ClassVar[int]
    PIDS_LIMIT_FIELD_NUMBER: _ClassVar[int]
    OOM_KILLS_FIELD_NUMBER: _ClassVar[int]
    CGROUP_VERSION_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_NS_FIELD_NUMBER: _ClassVar[int]
    OOM_EVENTS_FIELD_NUMBER: _ClassVar[int]
    LAST_OOM_AT_NS_FIELD_NUMBER: _ClassVar[int]
    CPU_USER_NS_FIELD_NUMBER: _ClassVar[int]
    CPU_SYSTEM_NS_FIELD_NUMBER: _ClassVar[int]
    CPU_PERIODS_FIELD_NUMBER: _ClassVar[int]
    CPU_THROTTLED_PERIODS_FIELD_NUMBER: _ClassVar[int]
    CPU_THROTTLED_NS_FIELD_NUMBER: _ClassVar[int]
    MEMORY_CACHE_BYTES_FIELD_NUMBER: _ClassVar[int]
    MEMORY_RSS_BYTES_FIELD_NUMBER: _ClassVar[int]
    MEMORY_MAPPED_FILE_BYTES_FIELD_NUMBER: _ClassVar[int]
    MEMORY_SWAP_BYTES_FIELD_NUMBER: _ClassVar[int]
    MEMORY_FAILCNT_FIELD_NUMBER: _ClassVar[int]
    MEMORY_MAX_USAGE_BYTES_FIELD_NUMBER: _ClassVar[int]
    MEMORY_KERNEL_BYTES_FIELD_NUMBER: _ClassVar[int]
    MEMORY_PGFAULT_FIELD_NUMBER: _ClassVar[int]
    MEMORY_PGMAJFAULT_FIELD_NUMBER: _ClassVar[int]
    MEMORY_HIERARCHY_PGFAULT_FIELD_NUMBER: _ClassVar[int]
    MEMORY_HIERARCHY_PGMAJFAULT_FIELD_NUMBER: _ClassVar[int]
    CPU_SHARES_FIELD_NUMBER: _ClassVar[int]
    CPU_PERIOD_US_FIELD_NUMBER: _ClassVar[int]
    CPU_QUOTA_US_FIELD_NUMBER: _ClassVar[int]
    MEMORY_RESERVATION_BYTES_FIELD_NUMBER: _ClassVar[int]
    MEMORY_SWAP_LIMIT_BYTES_FIELD_NUMBER: _ClassVar[int]
    BLOCK_DEVICES_FIELD_NUMBER: _ClassVar[int]
    HUGETLB_FIELD_NUMBER: _ClassVar[int]
    CPU_PRESSURE_FIELD_NUMBER: _ClassVar[int]
    IO_PRESSURE_FIELD_NUMBER: _ClassVar[int]
    MEMORY_PRESSURE_FIELD_NUMBER: _ClassVar[int]
    cpu_usage_ns: int
    memory_usage_bytes: int
    memory_limit_bytes: int
    memory_working_set_bytes: int
    pids_current: int
    pids_limit: int
    oom_kills: int
    cgroup_version: str
    timestamp_ns: int
    oom_events: int
    last_oom_at_ns: int
    cpu_user_ns: int
    cpu_system_ns: int
    cpu_periods: int
    cpu_throttled_periods: int
    cpu_throttled_ns: int
    memory_cache_bytes: int
    memory_rss_bytes: int
    memory_mapped_file_bytes: int
    memory_swap_bytes: int
    memory_failcnt: int
    memory_max_usage_bytes: int
    memory_kernel_bytes: int
    memory_pgfault: int
    memory_pgmajfault: int
    memory_hierarchy_pgfault: int
    memory_hierarchy_pgmajfault: int
    cpu_shares: int
    cpu_period_us: int
    cpu_quota_us: int
    memory_reservation_bytes: int
    memory_swap_limit_bytes: int
    block_devices: _containers.RepeatedCompositeFieldContainer[BlockDeviceStats]
    hugetlb: _containers.RepeatedCompositeFieldContainer[HugetlbStats]
    cpu_pressure: Pressure
    io_pressure: Pressure
    memory_pressure: Pressure
    def __init__(self, cpu_usage_ns: _Optional[int] = ..., memory_usage_bytes: _Optional[int] = ..., memory_limit_bytes: _Optional[int] = ..., memory_working_set_bytes: _Optional[int] = ..., pids_current: _Optional[int] = ..., pids_limit: _Optional[int] = ..., oom_kills: _Optional[int] = ..., cgroup_version: _Optional[str] = ..., timestamp_ns: _Optional[int] = ..., oom_events: _Optional[int] = ..., last_oom_at_ns: _Optional[int] = ..., cpu_user_ns: _Optional[int] = ..., cpu_system_ns: _Optional[int] = ..., cpu_periods: _Optional[int] = ..., cpu_throttled_periods: _Optional[int] = ..., cpu_throttled_ns: _Optional[int] = ..., memory_cache_bytes: _Optional[int] = ..., memory_rss_bytes: _Optional[int] = ..., memory_mapped_file_bytes: _Optional[int] = ..., memory_swap_bytes: _Optional[int] = ..., memory_failcnt: _Optional[int] = ..., memory_max_usage_bytes: _Optional[int] = ..., memory_kernel_bytes: _Optional[int] = ..., memory_pgfault: _Optional[int] = ..., memory_pgmajfault: _Optional[int] = ..., memory_hierarchy_pgfault: _Optional[int] = ..., memory_hierarchy_pgmajfault: _Optional[int] = ..., cpu_shares: _Optional[int] = ..., cpu_period_us: _Optional[int] = ..., cpu_quota_us: _Optional[int] = ..., memory_reservation_bytes: _Optional[int] = ..., memory_swap_limit_bytes: _Optional[int] = ..., block_devices: _Optional[_Iterable[_Union[BlockDeviceStats, _Mapping]]] = ..., hugetlb: _Optional[_Iterable[_Union[HugetlbStats, _Mapping]]] = ..., cpu_pressure: _Optional[_Union[Pressure, _Mapping]] = ..., io_pressure: _Optional[_Union[Pressure, _Mapping]] = ..., memory_pressure: _Optional[_Union[Pressure, _Mapping]] = ...) -> None: ...

class BlockDeviceStats(_message.Message):
    __slots__ = ("major", "minor", "read_bytes", "write_bytes", "read_ops", "write_ops", "discard_bytes", "discard_ops")
    MAJOR_FIELD_NUMBER: _ClassVar[int]
    MINOR_FIELD_NUMBER: _ClassVar[int]
    READ_BYTES_FIELD_NUMBER: _ClassVar[int]
    WRITE_BYTES_FIELD_NUMBER: _ClassVar[int]
    READ_OPS_FIELD_NUMBER: _ClassVar[int]
    WRITE_OPS_FIELD_NUMBER: _ClassVar[int]
    DISCARD_BYTES_FIELD_NUMBER: _ClassVar[int]
    DISCARD_OPS_FIELD_NUMBER: _ClassVar[int]
    major: int
    minor: int
    read_bytes: int
    write_bytes: int
    read_ops: int
    write_ops: int
    discard_bytes: int
    discard_ops: int
    def __init__(self, major: _Optional[int] = ..., minor: _Optional[int] = ..., read_bytes: _Optional[int] = ..., write_bytes: _Optional[int] = ..., read_ops: _Optional[int] = ..., write_ops: _Optional[int] = ..., discard_bytes: _Optional[int] = ..., discard_ops: _Optional[int] = ...) -> None: ...

class HugetlbStats(_message.Message):
    __slots__ = ("page_size", "usage_bytes", "max_usage_bytes", "failcnt")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    USAGE_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_USAGE_BYTES_FIELD_NUMBER: _ClassVar[int]
    FAILCNT_FIELD_NUMBER: _ClassVar[int]
    page_size: str
    usage_bytes: int
    max_usage_bytes: int
    failcnt: int
    def __init__(self, page_size: _Optional[str] = ..., usage_bytes: _Optional[int] = ..., max_usage_bytes: _Optional[int] = ..., failcnt: _Optional[int] = ...) -> None: ...

class Pressure(_message.Message):
    __slots__ = ("some_total_us", "full_total_us")
    SOME_TOTAL_US_FIELD_NUMBER: _ClassVar[int]
    FULL_TOTAL_US_FIELD_NUMBER: _ClassVar[int]
    some_total_us: int
    full_total_us: int
    def __init__(self, some_total_us: _Optional[int] = ..., full_total_us: _Optional[int] = ...) -> None: ...

class UpdateRequest(_message.Message):
    __slots__ = ("resources",)
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    resources: bytes
    def __init__(self, resources: _Optional[bytes] = ...) -> None: ...

class PauseRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ResumeRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PidsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ProcessInfo(_message.Message):
    __slots__ = ("pid", "exec_id")
    PID_FIELD_NUMBER: _ClassVar[int]
    EXEC_ID_FIELD_NUMBER: _ClassVar[int]
    pid: int
    exec_id: str
    def __init__(self, pid: _Optional[int] = ..., exec_id: _Optional[str] = ...) -> None: ...

class PidsResponse(_message.Message):
    __slots__ = ("processes",)
    PROCESSES_FIELD_NUMBER: _ClassVar[int]
    processes: _containers.RepeatedCompositeFieldContainer[ProcessInfo]
    def __init__(self, processes: _Optional[_Iterable[_Union[ProcessInfo, _Mapping]]] = ...) -> None: ...

class ShutdownRequest(_message.Message):
    __slots__ = ("now",)
    NOW_FIELD_NUMBER: _ClassVar[int]
    now: bool
    def __init__(self, now: _Optional[bool] = ...) -> None: ...

class SpawnRequest(_message.Message):
    __slots__ = ("id", "bundle", "runtime", "runtime_root", "state_dir", "log_path", "terminal", "stdin")
    ID_FIELD_NUMBER: _ClassVar[int]
    BUNDLE_FIELD_NUMBER: _ClassVar[int]
    RUNTIME_FIELD_NUMBER: _ClassVar[int]
    RUNTIME_ROOT_FIELD_NUMBER: _ClassVar[int]
    STATE_DIR_FIELD_NUMBER: _ClassVar[int]
    LOG_PATH_FIELD_NUMBER: _ClassVar[int]
    TERMINAL_FIELD_NUMBER: _ClassVar[int]
    STDIN_FIELD_NUMBER: _ClassVar[int]
    id: str
    bundle: str
    runtime: str
    runtime_root: str
    state_dir: str
    log_path: str
    terminal: bool
    stdin: bool
    def __init__(self, id: _Optional[str] = ..., bundle: _Optional[str] = ..., runtime: _Optional[str] = ..., runtime_root: _Optional[str] = ..., state_dir: _Optional[str] = ..., log_path: _Optional[str] = ..., terminal: _Optional[bool] = ..., stdin: _Optional[bool] = ...) -> None: ...

class SpawnResponse(_message.Message):
    __slots__ = ("address", "pid", "already_running")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    ALREADY_RUNNING_FIELD_NUMBER: _ClassVar[int]
    address: str
    pid: int
    already_running: bool
    def __init__(self, address: _Optional[str] = ..., pid: _Optional[int] = ..., already_running: _Optional[bool] = ...) -> None: ...
