"""Where a plugin system (NRI) sees pods and containers change, and may change them.

``RuntimeContext.hooks`` is one object with these methods; the default here does
nothing.  Each is called at one point of the lifecycle, in the thread of the CRI
call (or of the exit watcher); a domain error raised by one fails that call,
which then undoes its work as for any other failure (so a failing hook leaves
nothing, and the call can be retried).

    run_pod_sandbox(pod, config)        the pod is set up, not yet ready (nobody lists it)
    stop_pod_sandbox(pod)               its containers and pause process are stopped
    remove_pod_sandbox(pod)             before its namespaces and files go
    update_pod_sandbox(pod, overhead, res)  the kubelet resized the pod (OCI linux.resources dicts)
    post_update_pod_sandbox(pod)        after that
    create_container(pod, ctr, spec)    -> spec: the OCI spec, which it may adjust, before the
                                        runtime's create (the container is not listed yet)
    post_create_container(pod, ctr)     created
    start_container(pod, ctr)           before the shim's Start
    post_start_container(pod, ctr)      running
    update_container(pod, ctr, res)     -> res: the OCI linux.resources about to be applied
    post_update_container(pod, ctr)     the resources are applied
    stop_container(pod, ctr)            it has exited (stopped, killed or ended by itself)
    remove_container(pod, ctr)          before its rootfs and shim go
    close()                             gantryd stops
"""


class Hooks:
    def run_pod_sandbox(self, pod, config):
        pass

    def stop_pod_sandbox(self, pod):
        pass

    def remove_pod_sandbox(self, pod):
        pass

    def update_pod_sandbox(self, pod, overhead, resources):
        pass

    def post_update_pod_sandbox(self, pod):
        pass

    def create_container(self, pod, ctr, spec):
        return spec

    def post_create_container(self, pod, ctr):
        pass

    def start_container(self, pod, ctr):
        pass

    def post_start_container(self, pod, ctr):
        pass

    def update_container(self, pod, ctr, resources):
        return resources

    def post_update_container(self, pod, ctr):
        pass

    def stop_container(self, pod, ctr):
        pass

    def remove_container(self, pod, ctr):
        pass

    def close(self):
        pass
