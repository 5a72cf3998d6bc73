variable "namespace" { # ERROR: No value for required variable
  type = string
}
