package app

import (
	"context"
	"time"
)

// DefaultImageRefreshInterval is how often a server reads the images
// added on the database (metalplane admin images add).
const DefaultImageRefreshInterval = 10 * time.Second

// refreshImages merges the images added on the database into the
// catalog; those it cannot take (an unknown instance type, an id of the
// catalog file) are logged and left out.
func (a *App) refreshImages(ctx context.Context) error {
	images, err := a.DB.Images(ctx)
	if err != nil {
		return err
	}
	for _, p := range a.Catalog.SetLiveImages(images) {
		a.Config.Logger.Warn("image added on the database left out", "err", p)
	}
	return nil
}

// refreshImagesEvery refreshes the images until stop is closed.
func (a *App) refreshImagesEvery(stop chan struct{}) {
	interval := a.Config.ImageRefresh
	if interval == 0 {
		interval = DefaultImageRefreshInterval
	}
	if interval < 0 {
		return
	}
	every(stop, interval, func() {
		ctx, cancel := context.WithTimeout(context.Background(), interval)
		defer cancel()
		if err := a.refreshImages(ctx); err != nil {
			a.Config.Logger.Warn("read the images added on the database", "err", err)
		}
	})
}
