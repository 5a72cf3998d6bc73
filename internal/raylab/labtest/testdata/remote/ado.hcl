# examples/remote's shape on the lab (internal/raylab): ado and two of its
# plugins built from the ado checkout, submitted to a remote-shaped Ray
# cluster through the stand-in `oc port-forward` (operation "explore") or
# through the HTTPS route (operation "explore_route"), results in the
# cluster's MySQL metastore. Operation "measure", one ado operation, is
# what the tests of edits and forwarder deaths submit.

variable "ado_checkout" {
  description = "Path of the ado checkout (make ado-checkout)."
}

variable "oc" {
  description = "The oc command: the lab's stand-in."
  default     = "oc"
}

variable "namespace" {
  default = "adopipe-lab"
}

variable "route" {
  description = "The lab's HTTPS route to the Jobs API."
  default     = "https://127.0.0.1:1"
}

variable "ca_file" {
  description = "The CA that signed the route's certificate."
  default     = "ca.pem"
}

variable "mysql_password" {
  description = "Password of the metastore, passed to the job, never stored."
  default     = ""
  sensitive   = true
}

cluster "forward" {
  port_forward {
    command    = var.oc
    namespace  = var.namespace
    service    = "ray-head-svc"
    port       = 8265
    local_port = 0
  }
}

cluster "route" {
  address = var.route
  ca_file = var.ca_file
}

build {
  python = env("ADOPIPE_PYTHON", "python3")
}

ado {
  source  = var.ado_checkout
  exclude = ["docs/", "tests/", "examples/", "website/", "plugins/"]
}

# A copy of the ado checkout's example actuator (the tests make it), so a
# test can edit it as a plugin author would.
plugin "robotic_lab" {
  source = "plugins/example_actuator"
}

plugin "anomalous_series" {
  source = "${var.ado_checkout}/plugins/operators/anomalous_series"
}

env = {
  LOGLEVEL = "WARNING"
  HOME     = "/tmp"
}

operation "explore" {
  cluster   = cluster.forward
  context   = "context.yaml"
  operation = "operation.yaml"
  plugins   = [plugin.robotic_lab, plugin.anomalous_series]
  files     = ["space.yaml", "run.sh"]
  env       = { ADO_MYSQL_PASSWORD = var.mysql_password, LAB_ROUTE = "forward" }
  args      = ["bash", "run.sh"]

  resources {
    num_cpus = 1
  }
}

operation "explore_route" {
  cluster   = cluster.route
  context   = "context.yaml"
  operation = "operation.yaml"
  plugins   = [plugin.robotic_lab, plugin.anomalous_series]
  files     = ["space.yaml", "run.sh"]
  env       = { ADO_MYSQL_PASSWORD = var.mysql_password, LAB_ROUTE = "route" }
  args      = ["bash", "run.sh"]

  resources {
    num_cpus = 1
  }
}

operation "measure" {
  cluster   = cluster.forward
  context   = "context.yaml"
  operation = "measure.yaml"
  plugins   = [plugin.robotic_lab, plugin.anomalous_series]
  files     = ["space.yaml", "run.sh"]
  env       = { ADO_MYSQL_PASSWORD = var.mysql_password, LAB_ROUTE = "forward" }
  args      = ["bash", "run.sh", "measure"]

  resources {
    num_cpus = 1
  }
}

# Ray version checks (TestRemoteRayVersion). ray_mismatch is only
# planned: its pip line would install another Ray than the cluster's.
# ray_pinned, through the route, is also the job TestRemoteHeadRestarted
# loses and resubmits.
operation "ray_mismatch" {
  cluster   = cluster.route
  context   = "context.yaml"
  operation = "measure.yaml"
  plugins   = [plugin.robotic_lab]
  files     = ["space.yaml", "run.sh"]
  pip       = ["ray==1.13.0"]
  args      = ["bash", "run.sh", "measure"]
}

operation "ray_pinned" {
  cluster   = cluster.route
  context   = "context.yaml"
  operation = "measure.yaml"
  plugins   = [plugin.robotic_lab]
  files     = ["space.yaml", "run.sh"]
  pin_ray   = true
  env       = { ADO_MYSQL_PASSWORD = var.mysql_password, LAB_ROUTE = "route" }
  args      = ["bash", "run.sh", "measure"]

  resources {
    num_cpus = 1
  }
}
