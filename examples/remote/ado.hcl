# The recipe of "Running ado on a remote Ray cluster", as one manifest:
# ado and two of its plugins built from a checkout, submitted to a Ray
# cluster on OpenShift reached through `oc port-forward`, which adopipe
# keeps alive.
#
# `make ado-checkout` puts an ado checkout (the ado-core source release) at
# ../../.cache/ado-checkout; point ado_checkout at your own clone instead:
#   adopipe plan --var ado_checkout=$HOME/src/ado

variable "ado_checkout" {
  description = "Path of the ado git checkout to build ado and its plugins from."
  default     = "../../.cache/ado-checkout"
}

variable "namespace" {
  description = "OpenShift namespace of the Ray cluster."
  default     = "discovery-dev"
}

variable "mysql_password" {
  description = "Password of the metastore, passed to the job, never stored."
  default     = ""
  sensitive   = true
}

cluster "dev" {
  port_forward {
    command   = "oc"
    namespace = var.namespace
    service   = "ray-head-svc"
    port      = 8265
  }
  headers = { "X-Team" = env("TEAM", "discovery") }
}

ado {
  source = var.ado_checkout
}

plugin "sfttrainer" {
  source  = "${var.ado_checkout}/plugins/actuators/sfttrainer"
  exclude = ["tests/", "docs/"]
}

plugin "ray_tune" {
  source = "${var.ado_checkout}/plugins/operators/ray_tune"
}

# Over the recommended defaults (PYTHONUNBUFFERED, OMP_NUM_THREADS,
# OPENBLAS_NUM_THREADS, RAY_AIR_NEW_PERSISTENCE_MODE).
env = {
  LOGLEVEL = "WARNING"
  HOME     = "/tmp"
}

operation "finetune_sweep" {
  cluster   = cluster.dev
  context   = "context.yaml"
  operation = "operation.yaml"
  plugins   = [plugin.sfttrainer, plugin.ray_tune]
  files     = ["space.yaml"]
  env       = { ADO_MYSQL_PASSWORD = var.mysql_password }
  on_change = "queue"

  resources {
    num_cpus = 1
  }
}
