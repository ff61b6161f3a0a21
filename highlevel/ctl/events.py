"""events: container lifecycle events as the runtime reports them (GetContainerEvents stream).

One line per event in table form (``TIME TYPE CONTAINER NAME POD``), one JSON document per
line with ``-o json``; runs until interrupted or the runtime closes the stream.
"""
import datetime

from gantry.api import cri_pb2

from .output import message_dict, render, short_id

TYPES = {cri_pb2.CONTAINER_CREATED_EVENT: "created", cri_pb2.CONTAINER_STARTED_EVENT: "started",
         cri_pb2.CONTAINER_STOPPED_EVENT: "stopped", cri_pb2.CONTAINER_DELETED_EVENT: "deleted"}


def event_line(ev):
    when = datetime.datetime.fromtimestamp(ev.created_at / 1e9, datetime.timezone.utc)
    name = ev.containers_statuses[0].metadata.name if ev.containers_statuses else ""
    pod = ev.pod_sandbox_status.metadata.name if ev.HasField("pod_sandbox_status") else ""
    return "%s  %-8s %s %s %s" % (when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), TYPES.get(ev.container_event_type, "?"),
                                  short_id(ev.container_id), name or "-", pod or "-")


def cmd_events(client, args, out):
    import json

    for ev in client.stream("events", client.runtime.GetContainerEvents, cri_pb2.GetEventsRequest()):
        if args.output == "json":
            out.write(json.dumps(message_dict(ev), sort_keys=True) + "\n")
        elif args.output == "yaml":
            out.write("---\n" + render(message_dict(ev), "yaml"))
        else:
            out.write(event_line(ev) + "\n")
        out.flush()
