/** Chooses the series backend by `series.kind` (docs/ingest.md §Series backends). */
import type { IngestConfig } from '../../../schemas/src/ingest-config.js';
import { IngestError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import { InfluxV1Store } from './influx-v1.js';
import { InfluxV2Store } from './influx-v2.js';
import { MemorySeriesStore } from './memory.js';
import type { SeriesStore } from './types.js';

export function createSeriesStore(config: IngestConfig, metrics?: Metrics): SeriesStore {
  const s = config.series;
  switch (s.kind) {
    case 'memory':
      return new MemorySeriesStore();
    case 'influx-v1':
      return new InfluxV1Store({ ...s, password: config.secrets.influxPassword, metrics });
    case 'influx-v2':
      if (!config.secrets.influxToken) throw new IngestError('ING_ERR_CONFIG', 'fatal', 'influx-v2 needs a token');
      return new InfluxV2Store({ ...s, token: config.secrets.influxToken, metrics });
    default:
      throw new IngestError('ING_ERR_CONFIG', 'fatal', `unknown series kind ${(s as { kind: string }).kind}`);
  }
}
