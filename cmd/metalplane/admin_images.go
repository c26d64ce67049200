package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/sqlstore"
)

// Operator commands about the images added on a live database, beside the
// catalog file's (docs/hardware.md, "Images"): running servers read them
// within --image-refresh-interval.

func adminImagesAdd(fs *flag.FlagSet) adminFunc {
	var im metalplane.Image
	var types string
	fs.StringVar(&im.ID, "id", "", "image id, e.g. debian-12-raw")
	fs.StringVar(&im.Name, "name", "", "name shown by DescribeImages")
	fs.StringVar(&im.Catalog, "catalog", "", "OS family: centos, windows, ubuntu, debian or esxi")
	fs.StringVar(&im.OSType, "os-type", "linux", "linux or windows")
	fs.StringVar(&im.Type, "type", "PUBLIC_IMAGE", "PUBLIC_IMAGE or CUSTOM_IMAGE")
	fs.StringVar(&types, "instance-types", "", "comma-separated instance types the image installs on")
	fs.BoolVar(&im.CustomPartitions, "custom-partitions", false, "partitions may be given with this image")
	fs.StringVar(&im.Source, "source", "", "http(s) URL, or file path relative to the server's data dir; empty: sold on simulated hosts only")
	fs.StringVar(&im.SHA256, "sha256", "", "SHA-256 of the image (64 hex digits), checked by the deploy agent")
	fs.StringVar(&im.Format, "format", "", "raw (the only format; default raw when a source is given)")
	return func(ctx context.Context, db *sqlstore.DB, out io.Writer) error {
		if types != "" {
			im.InstanceTypeIDs = strings.Split(types, ",")
		}
		if im.Source != "" && im.Format == "" {
			im.Format = "raw"
		}
		im.SHA256 = strings.ToLower(im.SHA256)
		if err := metalplane.CheckImageAlone(im); err != nil {
			return err
		}
		if err := db.AddImage(ctx, im); err != nil {
			return err
		}
		fmt.Fprintf(out, "image %s:\tadded (servers offer it within --image-refresh-interval)\n", im.ID)
		return nil
	}
}

func adminImagesList(fs *flag.FlagSet) adminFunc {
	return func(ctx context.Context, db *sqlstore.DB, out io.Writer) error {
		images, err := db.Images(ctx)
		if err != nil {
			return err
		}
		// One word a cell but the name, which comes last.
		fmt.Fprintln(out, "IMAGE ID\tCATALOG\tOS\tTYPE\tINSTANCE TYPES\tFORMAT\tSHA256\tSOURCE\tNAME")
		for _, im := range images {
			fmt.Fprintf(out, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", im.ID, im.Catalog, im.OSType, im.Type, strings.Join(im.InstanceTypeIDs, ","),
				dash(im.Format), dash(im.SHA256), dash(im.Source), im.Name)
		}
		return nil
	}
}

func adminImagesRemove(fs *flag.FlagSet) adminFunc {
	id := fs.String("id", "", "image id")
	return func(ctx context.Context, db *sqlstore.DB, out io.Writer) error {
		if *id == "" {
			return errors.New("--id is required")
		}
		if err := db.RemoveImage(ctx, *id); err != nil {
			return err
		}
		fmt.Fprintf(out, "image %s:\tremoved (instances installed from it keep its id)\n", *id)
		return nil
	}
}
