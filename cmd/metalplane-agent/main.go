// Command metalplane-agent is the deploy agent: a static binary that runs
// in the deploy ramdisk (scripts/build-ramdisk.sh), installs the image
// metalplane's provisioning listener names on the server's disk with its
// NoCloud seed, reports each step, and powers the server off.
//
// In the ramdisk it reads metalplane.api and metalplane.token from the
// kernel's command line and finds the disk itself; by hand (or in tests)
// -task and -disk say where, and -no-poweroff leaves the machine alone.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/metalplane/metalplane/internal/agent"
	"github.com/metalplane/metalplane/netboot/agentapi"
)

func main() {
	taskURL := flag.String("task", "", "URL of the task (default: from the kernel command line)")
	disk := flag.String("disk", "", "target disk (default: the first non-removable disk)")
	noPoweroff := flag.Bool("no-poweroff", false, "do not power the machine off at the end")
	flag.Parse()
	log.SetPrefix("metalplane-agent: ")
	log.SetFlags(0)
	err := run(*taskURL, *disk)
	if err != nil {
		log.Print(err)
	}
	if *noPoweroff || os.Getpid() != 1 && *taskURL != "" {
		if err != nil {
			os.Exit(1)
		}
		return
	}
	syscall.Sync()
	// Let the console show the last lines before the power goes.
	time.Sleep(time.Second)
	syscall.Reboot(syscall.LINUX_REBOOT_CMD_POWER_OFF)
}

func run(taskURL, disk string) error {
	if taskURL == "" {
		cmdline, err := os.ReadFile("/proc/cmdline")
		if err != nil {
			return err
		}
		if taskURL, err = taskFromCmdline(string(cmdline)); err != nil {
			return err
		}
	}
	if disk == "" {
		var err error
		if disk, err = firstDisk(); err != nil {
			return err
		}
	}
	log.Printf("installing on %s", disk)
	return agent.Run(context.Background(), agent.Config{TaskURL: taskURL, Disk: disk, Log: log.Printf})
}

func taskFromCmdline(cmdline string) (string, error) {
	var api, token string
	for _, f := range strings.Fields(cmdline) {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case agentapi.CmdlineAPI:
			api = v
		case agentapi.CmdlineToken:
			token = v
		}
	}
	if api == "" || token == "" {
		return "", errors.New("no " + agentapi.CmdlineAPI + " and " + agentapi.CmdlineToken + " on the kernel command line")
	}
	return api + "/agent/" + token + "/task", nil
}

// firstDisk is the first disk, by name, that is neither removable nor a
// loop, RAM, optical or device-mapper device.
func firstDisk() (string, error) {
	entries, err := os.ReadDir("/sys/block")
	if err != nil {
		return "", err
	}
	var names []string
	for _, e := range entries {
		n := e.Name()
		if strings.HasPrefix(n, "loop") || strings.HasPrefix(n, "ram") || strings.HasPrefix(n, "sr") || strings.HasPrefix(n, "dm-") || strings.HasPrefix(n, "zram") {
			continue
		}
		if b, _ := os.ReadFile(filepath.Join("/sys/block", n, "removable")); strings.TrimSpace(string(b)) == "1" {
			continue
		}
		if b, _ := os.ReadFile(filepath.Join("/sys/block", n, "size")); strings.TrimSpace(string(b)) == "0" {
			continue
		}
		names = append(names, n)
	}
	if len(names) == 0 {
		return "", errors.New("no disk found")
	}
	slices.Sort(names)
	return fmt.Sprintf("/dev/%s", names[0]), nil
}
