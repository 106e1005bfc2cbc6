module github.com/hostwall/hostwall

go 1.26
