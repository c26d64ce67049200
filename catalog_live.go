package metalplane

import "fmt"

// Images added on a live database (metalplane admin images add) join the
// catalog file's without a restart: the server reads them every few
// seconds and hands them to SetLiveImages, which checks each like an
// image of the file and swaps the whole set at once under the requests
// that read it.

type liveImages struct {
	images []Image
	byID   map[string]*Image
}

// SetLiveImages replaces the images added on the database. An image the
// file also has (same id), or one that fails the file's checks (an
// instance type the catalog does not have), is left out; the returned
// errors say which and why.
func (c *Catalog) SetLiveImages(images []Image) []error {
	l := &liveImages{byID: make(map[string]*Image, len(images))}
	var problems []error
	for _, im := range images {
		if _, ok := c.imageByID[im.ID]; ok {
			problems = append(problems, fmt.Errorf("image %q: the catalog file has an image with this id, which wins", im.ID))
			continue
		}
		if err := c.CheckImage(im); err != nil {
			problems = append(problems, err)
			continue
		}
		l.images = append(l.images, im)
	}
	for i := range l.images {
		l.byID[l.images[i].ID] = &l.images[i]
	}
	c.live.Store(l)
	return problems
}

// CheckImage checks one image as the catalog file's are checked, against
// this catalog's instance types.
func (c *Catalog) CheckImage(im Image) error {
	v := &catalogChecker{}
	checkCatalogID(v, "image", im.ID)
	c.checkImage(v, &im)
	if len(v.errs) == 0 {
		return nil
	}
	return v.errs[0]
}

// CheckImageAlone checks an image as CheckImage does, but for whether its
// instance types exist: what `admin images add` can check without the
// server's catalog file (the server leaves out an image naming a type it
// does not sell, and logs why).
func CheckImageAlone(im Image) error {
	c := &Catalog{typeByID: map[string]*InstanceType{}}
	for _, id := range im.InstanceTypeIDs {
		c.typeByID[id] = &InstanceType{ID: id}
	}
	if im.ID == "" {
		return fmt.Errorf("image: id is empty")
	}
	if len(im.InstanceTypeIDs) == 0 {
		return fmt.Errorf("image %q: no instance types", im.ID)
	}
	return c.CheckImage(im)
}
