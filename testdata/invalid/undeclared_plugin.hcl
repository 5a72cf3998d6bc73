cluster "dev" {
  address = "http://127.0.0.1:8265"
}
plugin "a" { pip = "ado-ray-tune==2.2.1" }
operation "sweep" {
  cluster   = cluster.dev
  context   = "fixtures/context_mysql.yaml"
  operation = "fixtures/operation.yaml"
  plugins   = [plugin.a, plugin.b] # ERROR: Reference to undeclared plugin
}
