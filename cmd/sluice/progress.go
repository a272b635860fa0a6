package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"golang.org/x/term"

	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/stream"
)

// progress shows one live line per stream on a terminal (mpb, a maintained
// multi-bar library that redraws in place and handles terminal width), and
// falls back to a log line per stream every 10 s when stderr is not a
// terminal, so unattended runs still leave a trail.
type progress struct {
	stopOnce sync.Once
	done     chan struct{}
	wg       sync.WaitGroup
	p        *mpb.Progress
}

const progressUnits = 10000 // the bar's total: share of the token ring in 1/10000

func newProgress(cfg *config.Config, stderr io.Writer, log *slog.Logger, streams []*stream.Stream) *progress {
	pr := &progress{done: make(chan struct{})}
	mode := cfg.Runtime.Progress
	tty := false
	if f, ok := stderr.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	if mode == "off" {
		return pr
	}
	if mode == "on" || (mode == "auto" && tty) {
		pr.p = mpb.New(mpb.WithOutput(stderr), mpb.WithRefreshRate(200*time.Millisecond), mpb.WithWidth(32))
		for _, s := range streams {
			bar := pr.p.AddBar(progressUnits,
				mpb.PrependDecorators(decor.Name(s.Name(), decor.WCSyncSpaceR)),
				mpb.AppendDecorators(decor.Any(func(decor.Statistics) string { return statsLine(s.Stats()) })),
			)
			pr.wg.Add(1)
			go func() {
				defer pr.wg.Done()
				t := time.NewTicker(200 * time.Millisecond)
				defer t.Stop()
				for {
					select {
					case <-t.C:
						bar.SetCurrent(int64(s.Stats().Covered * progressUnits))
					case <-pr.done:
						st := s.Stats()
						bar.SetCurrent(int64(st.Covered * progressUnits))
						bar.Abort(false)
						return
					}
				}
			}()
		}
		return pr
	}
	pr.wg.Add(1)
	go func() {
		defer pr.wg.Done()
		t := time.NewTicker(10 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				for _, s := range streams {
					st := s.Stats()
					if st.Started.IsZero() {
						continue
					}
					if st.Follow {
						log.Info("progress", "stream", s.Name(), "rows", st.Rows, "rows_out", st.RowsOut, "pages", st.Pages,
							"lag", lagText(st), "open_buckets", st.OpenBuckets, "detail", statsLine(st))
						continue
					}
					log.Info("progress", "stream", s.Name(), "rows", st.Rows, "rows_out", st.RowsOut, "pages", st.Pages,
						"splits_done", st.SplitsDone, "splits", st.Splits, "ring", fmt.Sprintf("%.1f%%", st.Covered*100), "detail", statsLine(st))
				}
			case <-pr.done:
				return
			}
		}
	}()
	return pr
}

// statsLine renders rows/s, pages, ring share and ETA.
func statsLine(st stream.Stats) string {
	if st.Started.IsZero() {
		return "waiting"
	}
	el := time.Since(st.Started)
	rate := float64(st.Rows) / max(el.Seconds(), 1e-3)
	if st.Follow {
		return followLine(st, rate)
	}
	eta := "?"
	if st.Covered > 0 && st.Covered < 1 {
		eta = (time.Duration(float64(el)/st.Covered) - el).Round(time.Second).String()
	} else if st.Covered >= 1 {
		eta = "0s"
	}
	return fmt.Sprintf("%d rows  %.0f rows/s  %d pages  splits %d/%d  ring %.1f%%  eta %s",
		st.Rows, rate, st.Pages, st.SplitsDone, st.Splits, st.Covered*100, eta)
}

func (pr *progress) stop() {
	pr.stopOnce.Do(func() {
		close(pr.done)
		pr.wg.Wait()
		if pr.p != nil {
			pr.p.Wait()
		}
	})
}
