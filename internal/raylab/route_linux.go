package raylab

import (
	"fmt"
	"os"
	"strconv"
)

// RouteHost is the host name of the lab's route, as an OpenShift route
// would have one; its certificate also holds 127.0.0.1 and localhost.
const RouteHost = "ray-dashboard-adopipe-lab.apps.lab.local"

// haproxyConfig is the route: TLS terminated with the lab's certificate on
// 127.0.0.1:port of this machine, plain HTTP to the head's dashboard
// inside the network namespace (HAProxy's `namespace` server option, as
// an OpenShift router reaches pods over the cluster network).
//
// Websocket upgrades do not pass: the Upgrade header is dropped, as a
// proxy without websocket support does, so the dashboard sees a plain GET
// of the log-tail endpoint and refuses it (HTTP 400). Clients following
// logs must fall back to polling.
func haproxyConfig(netns, pemFile string, port int) string {
	return fmt.Sprintf(`# The adopipe lab's route (written by raylab; do not edit).
global
    maxconn 256
    # One line per request (no headers, so no token) in logs/haproxy.log.
    log stdout format raw local0 info

namespace_list
    namespace %[1]s

defaults
    mode http
    log global
    option httplog
    timeout connect 5s
    timeout client 5m
    timeout server 5m
    timeout tunnel 5m

frontend route
    bind 127.0.0.1:%[3]d ssl crt %[2]s
    http-request del-header Upgrade
    http-request set-header Connection close if { req.hdr(Connection) -m sub -i upgrade }
    default_backend %[4]s

backend %[4]s
    server head 127.0.0.1:%[5]d namespace %[1]s
`, netns, pemFile, port, HeadService, DashboardPort)
}

func writeHAProxyConfig(path, netns, pemFile string, port int) error {
	return os.WriteFile(path, []byte(haproxyConfig(netns, pemFile, port)), 0o644)
}

func routeURL(port int) string { return "https://127.0.0.1:" + strconv.Itoa(port) }
