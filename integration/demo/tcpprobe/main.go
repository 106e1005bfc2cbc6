// Command tcpprobe is the demo's stand-in for a server and a client, so
// that make demo needs nothing but Go and iproute2.
//
//	tcpprobe serve PORT...   accept and close connections for 60 seconds
//	tcpprobe dial ADDR:PORT  print connected, refused or timeout
package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: tcpprobe serve PORT... | tcpprobe dial ADDR:PORT")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "serve":
		for _, port := range os.Args[2:] {
			ln, err := net.Listen("tcp", ":"+port)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					c.Close()
				}
			}()
		}
		time.Sleep(60 * time.Second) // bounded: the demo never needs more
	case "dial":
		c, err := net.DialTimeout("tcp", os.Args[2], 2*time.Second)
		switch {
		case err == nil:
			c.Close()
			fmt.Println("connected")
		case errors.Is(err, syscall.ECONNREFUSED):
			fmt.Println("refused")
		default:
			fmt.Println("timeout")
		}
	default:
		os.Exit(2)
	}
}
