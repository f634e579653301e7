import { MAX_REQUEST_SERIES, MetricsService } from './metrics.service';

describe('MetricsService', () => {
  it(`keeps at most ${MAX_REQUEST_SERIES} request series, counting the rest under one "other" series`, async () => {
    const metrics = new MetricsService();
    for (let i = 0; i < MAX_REQUEST_SERIES + 500; i += 1) metrics.observeRequest('GET', `/api/v1/route-${i}`, 200, 0.001);
    metrics.observeRequest('GET', '/api/v1/route-0', 200, 0.001);
    const series = (metrics as unknown as { requestSeries: Map<string, unknown> }).requestSeries;
    expect(series.size).toBe(MAX_REQUEST_SERIES + 1);
    const counter = await metrics.registry.getSingleMetric('http_requests_total')!.get();
    expect(counter.values).toHaveLength(MAX_REQUEST_SERIES + 1);
    expect(counter.values.find((v) => v.labels.route === 'other')).toMatchObject({ value: 500, labels: { method: 'other', status: 'other' } });
    expect(counter.values.find((v) => v.labels.route === '/api/v1/route-0')?.value).toBe(2);
  });
});
