// D36: a module file, so the build does not depend on GOPATH-mode defaults.
module hello

go 1.19
