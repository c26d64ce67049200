package sqlstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/metalplane/metalplane"
)

// Images added on a live database (metalplane admin images add); the
// servers merge them into their catalog (Catalog.SetLiveImages).

// AddImage stores an image; ErrImageExists when its id is taken.
func (db *DB) AddImage(ctx context.Context, im metalplane.Image) error {
	types, err := json.Marshal(im.InstanceTypeIDs)
	if err != nil {
		return err
	}
	var n int
	if err := db.SQL.QueryRowContext(ctx, `SELECT COUNT(*) FROM images WHERE id = $1`, im.ID).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("image %s: %w", im.ID, ErrImageExists)
	}
	_, err = db.SQL.ExecContext(ctx, `INSERT INTO images (id, name, catalog, os_type, type, instance_types, custom_partitions, source, sha256, format, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		im.ID, im.Name, im.Catalog, im.OSType, im.Type, string(types), im.CustomPartitions, im.Source, im.SHA256, im.Format, db.Now().Unix())
	if err != nil {
		return fmt.Errorf("add image %s: %w", im.ID, err)
	}
	return nil
}

// ErrImageExists is AddImage's error for an id already stored.
var ErrImageExists = errors.New("an image with this id exists")

// Images lists the stored images by id.
func (db *DB) Images(ctx context.Context) ([]metalplane.Image, error) {
	rows, err := db.SQL.QueryContext(ctx, `SELECT id, name, catalog, os_type, type, instance_types, custom_partitions, source, sha256, format FROM images ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []metalplane.Image
	for rows.Next() {
		var im metalplane.Image
		var types string
		if err := rows.Scan(&im.ID, &im.Name, &im.Catalog, &im.OSType, &im.Type, &types, &im.CustomPartitions, &im.Source, &im.SHA256, &im.Format); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(types), &im.InstanceTypeIDs); err != nil {
			return nil, fmt.Errorf("image %s: instance_types: %w", im.ID, err)
		}
		out = append(out, im)
	}
	return out, rows.Err()
}

// RemoveImage deletes a stored image; ErrNotFound when there is none.
// Instances installed from it keep its id; a provision still waiting for
// it fails (the image is no longer offered).
func (db *DB) RemoveImage(ctx context.Context, id string) error {
	res, err := db.SQL.ExecContext(ctx, `DELETE FROM images WHERE id = $1`, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("image %s: %w", id, ErrNotFound)
	}
	return nil
}
