plugin "ado" { # ERROR: Reserved plugin name
  pip = "ado-core==2.3.0"
}
